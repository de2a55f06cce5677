#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check.sh [WEFT_ROOT] builds this consumer project the way a user would, in a
# fresh temporary directory (so parallel runs never share one):
#  1. as a meson subproject: subprojects/weft is a symlink to WEFT_ROOT, found
#     through dependency('weft', fallback : ['weft', 'weft_dep']); weft must
#     not build its own tests, demos or benchmarks there;
#  2. as an installed library: `meson install` into a temporary prefix, then
#     the same main.cpp built with only `pkg-config --cflags --libs weft`;
#  3. from CMake: find_package(weft) and weft::weft (CMakeLists.txt here),
#     against the same installed prefix.
# Each program's output must match the expected text. Registered in
# tests/meson.build as the test 'consumer'; runs on its own too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

expected='sum=55
<task #7 pending>
<task #7 finished result=42>
<task #8 '"'sleeper'"' cancelled>
timed_out=true
200 hello /consumer
200 tls'

# step NAME CMD...: runs CMD quietly; on failure shows its output and stops.
step() {
    local name=$1
    shift
    if ! "$@" >"$tmp/step.log" 2>&1; then
        echo "consumer: $name failed: $*" >&2
        cat "$tmp/step.log" >&2
        exit 1
    fi
}

# check_output NAME PROGRAM: runs PROGRAM and compares what it prints.
check_output() {
    local out rc=0
    out=$("$2" 2>&1) || rc=$?
    if [[ $rc -ne 0 || "$out" != "$expected" ]]; then
        echo "consumer: $1 exited $rc; expected:" >&2
        echo "$expected" >&2
        echo "got:" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "consumer: $1 ok"
}

mkdir -p "$tmp/src/subprojects"
cp "$here/meson.build" "$here/main.cpp" "$tmp/src/"
ln -s "$root" "$tmp/src/subprojects/weft"

# A plain build even when the suite runs under the sanitizers; debug builds fastest.
step "meson setup" meson setup "$tmp/build" "$tmp/src" --prefix "$tmp/prefix" \
    --wrap-mode=nodownload -Dbuildtype=debug -Dcpp_std=c++20
step "build" ninja -C "$tmp/build" -j 2

# weft builds tests, demos and benchmarks only as the top-level project.
targets=$(ninja -C "$tmp/build" -t targets all)
if grep -E '(^|/)(catch_main|[a-z_]+_test|hello_task)[^:]*:' <<<"$targets" >&2; then
    echo "consumer: weft built its tests or demos inside the consumer (above)" >&2
    exit 1
fi
check_output "subproject build" "$tmp/build/consumer"

# Installed: headers, the library and weft.pc are all a user needs.
step "meson install" meson install -C "$tmp/build" --no-rebuild
pc=$(find "$tmp/prefix" -name weft.pc -print -quit)
if [[ -z "$pc" || ! -f "$tmp/prefix/include/weft/weft.hpp" ]]; then
    echo "consumer: meson install did not install weft.pc and include/weft/weft.hpp:" >&2
    find "$tmp/prefix" >&2
    exit 1
fi
pc_flags=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs --static weft)
read -ra flags <<<"$pc_flags"
step "build against the installed weft" \
    "${CXX:-c++}" -std=c++20 "$tmp/src/main.cpp" -o "$tmp/consumer-installed" "${flags[@]}"
check_output "installed build" "$tmp/consumer-installed"

# CMake: find_package(weft) finds the package config meson installed.
if command -v cmake >/dev/null; then
    mkdir -p "$tmp/cmake-src"
    cp "$here/CMakeLists.txt" "$here/main.cpp" "$tmp/cmake-src/"
    step "cmake configure" cmake -S "$tmp/cmake-src" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
        -DCMAKE_BUILD_TYPE=Debug
    step "cmake build" cmake --build "$tmp/cmake-build" -j 2
    check_output "CMake build" "$tmp/cmake-build/consumer"
else
    echo "consumer: cmake is missing (apt-get install cmake); the CMake consumer is not checked" >&2
    exit 1
fi
