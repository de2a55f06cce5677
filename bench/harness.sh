# SPDX-License-Identifier: MIT
# bench/harness.sh — what every benchmark script shares. Sourced by each
# benchmark (bench/switch.sh, spawn.sh, idle.sh, timer.sh, echo.sh, dns.sh,
# fetch.sh, to_thread.sh, soak.sh, http_server.sh), by bench/run.sh, which
# sources them all, and by bench/tls.sh (which uses only bench_install and
# bench_configure): installing the Debian packages a benchmark needs,
# configuring weft's release build and building its programs and Go peers,
# running programs in rounds, and the medians, spreads, ratios and table rows.
#
# A benchmark NAME is a script bench/NAME.sh that sources this file, defines
#   NAME_missing   a function printing the Debian packages it needs that are
#                  missing, one a line (nothing when all are there)
#   NAME_targets   an array: the ninja targets under bench/ it runs (weft_switch ...)
#   NAME_go        an array: the Go peers it runs, "binary:source" (source in bench/peers/)
#   bench_NAME     a function that runs it and prints its table on stdout
# and ends with `if bench_executed; then bench_main NAME; fi`: run alone, it
# installs, builds, prints the machine line and runs; sourced (by run.sh), it
# only defines. Adding a benchmark is one new file (and its name in run.sh).
#
# Environment every benchmark shares:
#   ROUNDS=5          rounds (switch, spawn, timer, to_thread; others have their own)
#   BENCH_CPU=N       pin the one-process programs to CPU N (default: the last one);
#                     "none": pin nothing (the two-sided benchmarks then run unpinned too)
#   BENCH_BUILD=dir   build directory (default: build-bench in the repo root)
#   BENCH_NO_INSTALL=1  never call apt-get
#   VERBOSE=1         also show the programs' INFO lines (timings of setup, map counts)
#   BENCH_RAW=file    also keep every round's figures there ("key value [round]" lines)
#
# bench/tls.sh sets here, root, build and rounds itself before it sources this
# file; what it set is kept.

[ -n "${bench_harness_sourced:-}" ] && return 0
bench_harness_sourced=1

here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
root=${root:-$(dirname "$here")}
build=${build:-$(realpath -m "${BENCH_BUILD:-$root/build-bench}")}  # absolute: Go wants GOPATH so
bin=$build/bench
# BENCH_PREBUILT=DIR runs the programs already in DIR (the bin/ of a folder
# made by bench/device_prepare.sh, on a machine with no compiler or network):
# nothing is installed or built, and a program DIR lacks is skipped, saying so.
if [ -n "${BENCH_PREBUILT:-}" ]; then
    bin=$(realpath -m "$BENCH_PREBUILT")
    BENCH_NO_INSTALL=1
fi
rounds=${rounds:-${ROUNDS:-5}}
cpu=${BENCH_CPU:-$(($(nproc) - 1))}
bench_reconfigure=0

say() { printf '%s\n' "$*" >&2; }

# bench_executed: true in a benchmark script run as a program, false when it
# is sourced (by run.sh).
bench_executed() { [ "${BASH_SOURCE[1]}" = "$0" ]; }

# cpu_list FIRST LAST: "FIRST-LAST" (or "FIRST"); empty when LAST < FIRST.
cpu_list() {
    if (($2 < $1)); then return 0; fi
    if (($1 == $2)); then echo "$1"; else echo "$1-$2"; fi
}

# cpu_count LIST: how many CPUs a taskset list ("0-3,6") names.
cpu_count() {
    awk -v l="$1" 'BEGIN {n = split(l, p, ","); c = 0
        for (i = 1; i <= n; i++) {if (split(p[i], r, "-") == 2) c += r[2] - r[1] + 1; else if (p[i] != "") c++}
        print c}'
}

# device_setup LOAD CONNS (bench/device_scaling.sh, device_echo_scaling.sh):
# sets ncpu, ns (the N of DEVICE_N that leave a CPU for the load generator
# LOAD) and load_cpus (DEVICE_LOAD_CPUS, else the upper half of the CPUs, the
# same for every N); raises ulimit -n for CONNS connections, or says it
# could not; makes $results, kept in BENCH_RAW at exit.
device_setup() {
    local load=$1 conns=$2 n max=1 half
    ncpu=$(nproc) ns=()
    for n in ${DEVICE_N:-1 2 4 8}; do
        if ((n < ncpu)); then ns+=("$n"); ((n > max)) && max=$n; else say "N=$n leaves no CPU for $load on $ncpu CPUs: skipped"; fi
    done
    ((${#ns[@]})) || { say "no N fits $ncpu CPUs"; exit 2; }
    half=$((ncpu / 2))
    ((half < max)) && half=$max
    load_cpus=${DEVICE_LOAD_CPUS:-$(cpu_list "$half" $((ncpu - 1)))}
    command -v taskset >/dev/null || say "*** taskset not found: nothing is pinned, the servers and $load share every CPU ***"
    ulimit -n 20000 2>/dev/null || ulimit -n 8192 2>/dev/null || true
    if [ "$(ulimit -n)" != unlimited ] && (($(ulimit -n) < conns + 64)); then
        say "*** ulimit -n is $(ulimit -n), too few for $conns connections: $load will fail ***"
    fi
    results=$(mktemp)
    trap 'if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi; rm -f "$results"' EXIT
}

# cell KEY: the median of KEY as fmt() writes it, or "-".
cell() {
    local m
    m=$(median "$1")
    if [ -n "$m" ]; then fmt "$m"; else echo -; fi
}

# scaling KEY_N KEY_FIRST N FIRST: a rate at N threads over N/FIRST times the
# rate at FIRST threads (1.00: linear), or "-".
scaling() {
    awk -v a="$(median "$1")" -v b="$(median "$2")" -v n="$3" -v n0="$4" \
        'BEGIN {if (a != "" && b > 0) printf "%.2f", a / (b * n / n0); else printf "-"}'
}

# device_machine_line DIR FIELDS: the machine (CPUs, model, kernel, load, CPU
# 0's SMT siblings) and the MANIFEST lines of DIR named in FIELDS ("weft|go").
device_machine_line() {
    printf 'machine: %s CPUs, %s, Linux %s; load %s; SMT siblings of CPU 0: %s\n' "$ncpu" \
        "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list 2>/dev/null || echo '?')"
    [ -f "$1/MANIFEST" ] && sed -En "s/^($2): /  &/p" "$1/MANIFEST"
    return 0
}

# --- what is missing ----------------------------------------------------------

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

# bench_base_missing: what building weft's benchmarks needs at all.
bench_base_missing() {
    command -v meson >/dev/null || echo meson
    command -v ninja >/dev/null || echo ninja-build
    command -v c++ >/dev/null || echo g++
    [ -f /usr/include/boost/context/fiber.hpp ] || echo libboost-context-dev
}

# Shared by the benchmarks that name them in their NAME_missing.
go_missing() { command -v go >/dev/null || echo golang-go; }
boost_fiber_missing() {
    # The library, not the header: libboost1.74-dev ships boost/fiber/all.hpp,
    # libboost-fiber-dev the libboost_fiber that the peers link.
    dpkg-query -W -f='${Status}' libboost-fiber-dev 2>/dev/null | grep -q 'ok installed' || echo libboost-fiber-dev
}

# --- build ----------------------------------------------------------------------

# bench_configure: a release build of weft's benchmarks in $build (set up, set
# up again after an install, or just switched to release with bench on), and
# build.ninja regenerated so that an option just changed is in its targets.
bench_configure() {
    [ -n "${BENCH_PREBUILT:-}" ] && return 0
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
    elif [ "$bench_reconfigure" = 1 ]; then
        meson setup --reconfigure "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
    else
        meson configure "$build" -Dbuildtype=release -Dbench=true >/dev/null
    fi
    ninja -C "$build" build.ninja >&2
}

# bench_build TARGET...: builds these bench/ programs, those of them that this
# configuration has (Boost.Fiber's peers need libboost-fiber-dev, the C
# programs a C compiler: meson.build leaves them out otherwise), and the
# library under them. A build dir that also has tests or demos configured
# need not build those.
bench_build() {
    local t have=() want=()
    [ -n "${BENCH_PREBUILT:-}" ] && return 0
    mapfile -t have < <(ninja -C "$build" -t targets all | awk -F: '/^bench\/[a-z_]+: / {print $1}')
    for t; do
        [[ " ${have[*]} " == *" bench/$t "* ]] && want+=("bench/$t")
    done
    ((${#want[@]} == 0)) || ninja -C "$build" "${want[@]}" >&2
}

# bench_go BINARY:SOURCE...: builds each Go peer into $bin with `go build`;
# one that cannot be built is removed, so that its rows say "skipped".
bench_go() {
    local p
    (($# == 0)) && return 0
    [ -n "${BENCH_PREBUILT:-}" ] && return 0
    if ! command -v go >/dev/null; then
        say "go not found (apt-get install golang-go): Go peers skipped"
        for p; do rm -f "$bin/${p%%:*}"; done
        return 0
    fi
    # Go's caches go under the build dir: HOME may be read-only or absent.
    export GOCACHE=$build/go-cache GOPATH=$build/go-path GOFLAGS= GOTOOLCHAIN=local
    for p; do
        go build -o "$bin/${p%%:*}" "$here/peers/${p#*:}" >&2 ||
            { say "go build failed: ${p%%:*} skipped"; rm -f "$bin/${p%%:*}"; }
    done
}

# bench_main NAME...: installs what the benchmarks NAME... miss, builds their
# programs, prints the machine line and runs each (timed).
bench_main() {
    local n t need=() targets=() gos=() ref
    mapfile -t need < <({ bench_base_missing; for n; do "${n}_missing"; done; } | awk '!seen[$0]++')
    bench_install "${need[@]}"
    bench_configure
    for n; do
        ref="${n}_targets[@]"
        targets+=("${!ref}")
        ref="${n}_go[@]"
        gos+=("${!ref}")
    done
    bench_build "${targets[@]}"
    bench_go "${gos[@]}"
    if [[ " ${targets[*]} " == *" boost_fiber_switch "* ]] && [ ! -x "$bin/boost_fiber_switch" ]; then
        say "*** Boost.Fiber is NOT built (apt-get install libboost-fiber-dev): switch, spawn and idle"
        say "*** lack their main peer, and their Boost.Fiber rows below are empty ***"
    fi
    for t in "${targets[@]}"; do
        [[ $t == boost_fiber_* ]] && continue
        [ -x "$bin/$t" ] || say "*** $t is NOT built: what runs it is skipped or lacks a peer ***"
    done

    pin=()
    [ "$cpu" != none ] && command -v taskset >/dev/null && pin=(taskset -c "$cpu")
    results=$(mktemp)
    trap 'if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi; rm -f "$results"' EXIT

    printf "machine: %s\n" "$(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); pinned: ${pin[*]:-no}"
    for n; do timed "$n"; done
}

# timed NAME: runs bench_NAME and says how long it took and how busy the box was.
timed() {
    local t0=$SECONDS load0
    load0=$(cut -d' ' -f1 /proc/loadavg)
    "bench_$1"
    printf '  (%s: %d s; load average %s at the start, %s at the end)\n' "$1" $((SECONDS - t0)) \
        "$load0" "$(cut -d' ' -f1 /proc/loadavg)"
}

# --- rounds -------------------------------------------------------------------
# Every figure goes to $results (made by bench_main) as "key value [round]".

# run_rounds N "prog args" ... : N rounds, each running every program once, in order.
# Every RESULT key=value line goes to $results; NOTE lines are shown once.
run_rounds() {
    local n=$1 r cmd out rc line notes
    shift
    local progs=("$@") argv
    declare -A noted=()
    for ((r = 1; r <= n; r++)); do
        printf '  round %d/%d:' "$r" "$n" >&2
        notes=""
        for cmd in "${progs[@]}"; do
            read -ra argv <<<"$cmd"
            [ -x "$bin/${argv[0]}" ] || continue
            printf ' [%s]' "$cmd" >&2
            rc=0
            out=$(GOMAXPROCS=1 timeout 300 "${pin[@]}" "$bin/${argv[0]}" "${argv[@]:1}") || rc=$?
            [ $rc = 0 ] || printf ' (exit %d)' "$rc" >&2
            awk -F'[ =]' '/^RESULT /{print $2, $3}' <<<"$out" >>"$results"
            while IFS= read -r line; do
                [ -n "${noted[$line]:-}" ] && continue
                noted[$line]=1
                notes+="    $line"$'\n'
            done < <(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$out" || true)
        done
        printf '\n%s' "$notes" >&2
    done
}

# median KEY: the median over rounds (empty when the key never showed up).
median() {
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
spread() {
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.10g..%.10g n=%d", v[1], v[NR], NR}'
}

# fmt V: two decimals below 100, one below 1000, none above.
fmt() { awk -v v="$1" 'BEGIN {printf (v == int(v) || v >= 1000 ? "%.0f" : v < 100 ? "%.2f" : "%.1f"), v}'; }

# row LABEL KEY [BASE_KEY]: one table line; with BASE_KEY, the ratio weft/this.
row() {
    local label=$1 key=$2 base=${3:-} m b ratio=""
    m=$(median "$key")
    m=${m:+$(fmt "$m")}
    if [ -z "$m" ]; then
        printf '  %-34s %12s\n' "$label" "skipped"
        return
    fi
    if [ -n "$base" ]; then
        b=$(median "$base")
        [ -n "$b" ] && ratio=$(awk -v a="$b" -v c="$(median "$key")" 'BEGIN {if (c > 0) printf "%.2fx", a / c}')
    fi
    printf '  %-34s %12s   %-24s %s\n' "$label" "$m" "[$(spread "$key")]" "$ratio"
}

# verdict TEXT EXPR: prints TEXT: met/missed; EXPR is awk over m(KEY).
verdict() {
    local text=$1 expr=$2 k v
    for k in $(grep -o 'm([a-z0-9_]*)' <<<"$expr" | sed 's/m(\(.*\))/\1/' | sort -u); do
        v=$(median "$k")
        [ -z "$v" ] && { printf '  target %s: n/a (a figure is missing)\n' "$text"; return; }
        expr=${expr//m($k)/$v}
    done
    awk -v t="$text" "BEGIN {printf \"  target %s: %s\\n\", t, (($expr) ? \"MET\" : \"MISSED\")}"
}

header() {
    printf '\n%s\n' "$1"
    printf '  %-34s %12s   %-24s %s\n' "program" "median" "[min..max rounds]" "weft / this"
}

# paired A B: the median over rounds of A / B, each taken from one round (the
# programs of a round ran back to back, so this cancels the box's drift).
paired() {
    awk -v a="$1" -v b="$2" '$1 == a {va[$3] = $2} $1 == b {vb[$3] = $2}
        END {for (r in va) if ((r in vb) && vb[r] > 0) print va[r] / vb[r]}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

# range KEY: "[min..max]" over the rounds, each end as fmt() writes it.
range() {
    local lo hi
    read -r lo hi < <(awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g | sed -n '1p;$p' | tr '\n' ' ')
    [ -n "$lo" ] && printf '[%s..%s]' "$(fmt "$lo")" "$(fmt "${hi:-$lo}")"
}

# ratio A B: median(A) / median(B), two decimals; empty when either is missing.
ratio() {
    awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {if (a != "" && b > 0) printf "%.2f", a / b}'
}

# echo_row MODE LABEL TEXT: throughput with its spread and weft's ratio to it

# seconds_sum A B C: A + B + C rounded up to whole seconds (A and B may be fractions).
seconds_sum() { awk -v s="$1" -v t="$2" -v u="$3" 'BEGIN {v = s + t + u; printf "%d", v == int(v) ? v : int(v) + 1}'; }
