#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/device_prepare.sh [DIR] — everything bench/device_scaling.sh and
# bench/device_echo_scaling.sh need, in
# one folder to carry to a machine that has no internet and perhaps no wrk,
# nginx, Go or even the same Debian (issue 14's scaling curve on a many-core
# machine).
#
# DIR (default .device in the repo root, added to .git/info/exclude) gets:
#   libexec/weft_http_server  weft's server, built in release here (libweft is
#                             a static library: only its dependencies are shared)
#   libexec/weft_echo_server, libexec/epoll_echo, libexec/echo_load   the echo
#                             benchmark's weft and C servers and its load generator
#   libexec/wrk, libexec/nginx  the binaries of Debian's wrk and nginx packages
#                             (apt-get download + dpkg -x)
#   lib/                      every shared library those load (ldd), glibc
#                             and its loader included
#   bin/weft_http_server, bin/wrk, bin/nginx, bin/weft_echo_server,
#   bin/epoll_echo, bin/echo_load   wrappers that run the binary
#                             through lib/'s loader with lib/ as the only
#                             library path, so the machine's own libraries
#                             (or their absence) do not matter
#   libexec/weft_switch, boost_context_switch, weft_spawn, weft_timer,
#   weft_fetch_many, fetch_epoll   the micro-benchmarks and fetch_many's
#                             weft and C clients (bench/device_micro.sh)
#   bin/http_server_go, bin/go_echo_server, bin/go_peer, bin/sleep_server,
#   bin/fetch_go              the Go peers, static (CGO_ENABLED=0)
#   device_scaling.sh, harness.sh, http_server.sh, device_echo_scaling.sh,
#   echo.sh                   copies of the scripts, so that
#                             DIR/device_scaling.sh DIR runs from DIR alone
#   MANIFEST                  what was built from what (commit, versions, sizes)
# and must stay under 50 MiB (the device tool carries 64 MiB at most).
#
# Then, on the device, from the repo root: bench/device_scaling.sh .device,
# bench/device_echo_scaling.sh .device and bench/device_micro.sh .device
# (with .device in the device tool's carry list).
#
# Needs what bench/http_server.sh needs (installed when missing, as root) and
# network access to Debian's archive for apt-get download. BENCH_BUILD as in
# bench/harness.sh.
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=http_server.sh
source "$here/http_server.sh"

out=$(realpath -m "${1:-$root/.device}")
max_bytes=$((50 * 1024 * 1024))

# --- build and collect ----------------------------------------------------------
mapfile -t need < <({ bench_base_missing; http_server_missing; } | awk '!seen[$0]++')
bench_install "${need[@]}"
bench_configure
micro=(weft_switch boost_context_switch weft_spawn weft_timer weft_fetch_many fetch_epoll)
bench_build weft_http_server weft_echo_server epoll_echo echo_load "${micro[@]}"
for p in weft_http_server weft_echo_server epoll_echo echo_load "${micro[@]}"; do
    [ -x "$bin/$p" ] || { say "$p did not build"; exit 1; }
done
command -v go >/dev/null || { say "go not found (apt-get install golang-go)"; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/libexec" "$out/lib"
case $out in
    "$root"/*)
        # Keep it out of git's way (the device tool carries an ignored path named in carry).
        rel=/${out#"$root"/}/
        if [ -d "$root/.git/info" ] && ! grep -qxF "$rel" "$root/.git/info/exclude" 2>/dev/null; then
            echo "$rel" >>"$root/.git/info/exclude"
        fi
        ;;
esac

cp "$bin/weft_http_server" "$bin/weft_echo_server" "$bin/epoll_echo" "$bin/echo_load" "$out/libexec/"
for p in "${micro[@]}"; do cp "$bin/$p" "$out/libexec/"; done

export GOCACHE=$build/go-cache GOPATH=$build/go-path GOFLAGS= GOTOOLCHAIN=local
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bin/http_server_go" "$here/peers/http_server_go.go" >&2
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bin/go_echo_server" "$here/peers/echo_server.go" >&2
for p in go_peer:go_peer.go sleep_server:sleep_server.go fetch_go:fetch_go.go; do
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bin/${p%%:*}" "$here/peers/${p#*:}" >&2
done

debs=$(mktemp -d)
chmod 755 "$debs"  # apt-get download fetches as the _apt user when it can
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download wrk nginx >&2) || { say "apt-get download wrk nginx failed"; exit 1; }
for d in "$debs"/*.deb; do dpkg -x "$d" "$debs/root"; done
cp "$debs/root/usr/bin/wrk" "$debs/root/usr/sbin/nginx" "$out/libexec/"

# Every library the three load, resolved on this machine, and the loader.
for b in "$out"/libexec/*; do
    if ldd "$b" | grep -q 'not found'; then
        ldd "$b" >&2
        say "$b needs a library this machine lacks (install wrk and nginx here first)"
        exit 1
    fi
    ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do cp -L "$lib" "$out/lib/"; done
loader=$(cd "$out/lib" && ls ld-linux-*.so.* | head -1)

for b in weft_http_server wrk nginx weft_echo_server epoll_echo echo_load "${micro[@]}"; do
    cat >"$out/bin/$b" <<EOF
#!/bin/sh
# Made by bench/device_prepare.sh: runs libexec/$b with the libraries in lib/
# alone (glibc's loader among them), whatever this machine has installed.
d=\$(cd "\$(dirname "\$0")/.." && pwd)
exec "\$d/lib/$loader" --library-path "\$d/lib" "\$d/libexec/$b" "\$@"
EOF
    chmod +x "$out/bin/$b"
done
cp "$here/device_scaling.sh" "$here/harness.sh" "$here/http_server.sh" "$here/device_echo_scaling.sh" \
    "$here/echo.sh" "$out/"

# --- check and describe ---------------------------------------------------------
{ "$out/bin/wrk" --version 2>&1 || true; } | grep -q '^wrk ' || { say "the carried wrk does not run"; exit 1; }
{ "$out/bin/echo_load" 2>&1 || true; } | grep -q '^usage: ' || { say "the carried echo_load does not run"; exit 1; }
{ "$out/bin/epoll_echo" 2>&1 || true; } | grep -q '^usage: ' || { say "the carried epoll_echo does not run"; exit 1; }
"$out/bin/nginx" -v 2>&1 | grep -q 'nginx version' || { say "the carried nginx does not run"; exit 1; }
{
    echo "made by bench/device_prepare.sh on $(date -u +%FT%TZ), $(uname -srm)"
    echo "weft: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- lib include bench 2>/dev/null || echo ' (with uncommitted changes)'), build $build ($(meson introspect --buildoptions "$build" 2>/dev/null | grep -o '"name": "buildtype", "value": "[a-z]*"' | grep -o '[a-z]*"$' | tr -d '"'))"
    echo "go: $(go version)"
    echo "echo: weft_echo_server, epoll_echo, echo_load (built with weft), go_echo_server (static)"
    echo "wrk: $({ "$out/bin/wrk" --version 2>&1 || true; } | head -1)"
    echo "nginx: $("$out/bin/nginx" -v 2>&1)"
    echo "debs: $(cd "$debs" && ls ./*.deb | sed 's|^\./||' | tr '\n' ' ')"
    echo "lib: $(ls "$out/lib" | tr '\n' ' ')"
} >"$out/MANIFEST"
size=$(du -sb "$out" | cut -f1)
echo "size: $size bytes" >>"$out/MANIFEST"
cat "$out/MANIFEST" >&2
if ((size > max_bytes)); then
    say "$out is $size bytes, over 50 MiB"
    exit 1
fi
say "ready: $out ($((size / 1024 / 1024)) MiB); on the device, from the repo root: bench/device_scaling.sh ${out#"$root"/}"
say "  and bench/device_echo_scaling.sh ${out#"$root"/}, bench/device_micro.sh ${out#"$root"/}"
