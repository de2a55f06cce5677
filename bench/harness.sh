# SPDX-License-Identifier: MIT
# Sourced by bench/run.sh and bench/tls.sh: installing what a benchmark needs
# and configuring its release build, written once. Expects say() and
# $build / $root from the script that sources it.

bench_reconfigure=0

# bench_install PKG...: apt-get installs these Debian packages (the ones the
# caller found missing), unless BENCH_NO_INSTALL is set or there is no root or
# apt-get; then it says what is skipped. Sets bench_reconfigure=1 when it ran,
# so that meson looks for what was just installed.
bench_install() {
    [ $# -eq 0 ] && return 0
    if [ -n "${BENCH_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "missing: $* (not installing: needs root and apt-get); what needs them is skipped"
        return 0
    fi
    say "installing: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "$@" >&2 ||
        { apt-get update >&2 && apt-get install -y "$@" >&2; } ||
        say "apt-get failed; what needs $* is skipped"
    bench_reconfigure=1
}

# bench_configure: a release build of weft's benchmarks in $build (set up, set
# up again after an install, or just switched to release with bench on), and
# build.ninja regenerated so that an option just changed is in its targets.
bench_configure() {
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
    elif [ "$bench_reconfigure" = 1 ]; then
        meson setup --reconfigure "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
    else
        meson configure "$build" -Dbuildtype=release -Dbench=true >/dev/null
    fi
    ninja -C "$build" build.ninja >&2
}
