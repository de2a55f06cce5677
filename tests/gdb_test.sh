#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gdb_test.sh HELPER SCRIPT: scripts/weft-gdb.py's weft-fibers against
# tests/support/gdb_fibers.cpp, whose fibers 'receiver', 'sleeper' and
# 'reader' wait in receive_forever(), sleep_long() and read_socket():
#   1. live: the helper run under gdb, stopped at weft_gdb_test_stop();
#   2. a core file: the helper aborts at the same point with `ulimit -c
#      unlimited`, and the kernel writes the core (where core_pattern, which
#      is the system's to set, names a plain file; otherwise this half says
#      SKIP and why). Not gcore: on Linux >= 6.13 gdb 13's gcore stops
#      copying a region at its first unreadable page, and the guard pages of
#      weft's stack regions (MADV_GUARD_INSTALL) are such pages.
# Each time the output must list every fiber with its wait, and show the
# frame of its own function under its line. Exit 77 (skipped) without gdb.
set -uo pipefail
helper=$(realpath "$1") script=$(realpath "$2")

if ! command -v gdb >/dev/null; then
    echo "SKIP: gdb is not installed (apt-get install gdb; scripts/test.sh installs it)"
    exit 77
fi

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# check LABEL OUTPUT: the fibers, their waits, and each one's function among
# the frames listed under its line (before the next fiber's line).
check() {
    local label=$1 out=$2 name wait fn block
    for spec in "receiver|waits on channel recv|receive_forever" \
                "sleeper|waits on sleep|sleep_long" \
                "reader|waits on read fd|read_socket"; do
        IFS='|' read -r name wait fn <<<"$spec"
        if ! grep -q "fiber #[0-9]* '$name' $wait.* for at least [0-9]" <<<"$out"; then
            fail "$label: no line for '$name' saying it $wait"
            continue
        fi
        block=$(awk -v n="'$name'" 'index($0, "  fiber #") == 1 { inside = index($0, n) > 0; next } inside' <<<"$out")
        grep -q " in (anonymous namespace)::$fn " <<<"$block" || fail "$label: no frame of $fn() under '$name'"
    done
    grep -q "fiber #1 'main' is running" <<<"$out" || fail "$label: 'main' is not listed as running"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Live.
live=$(timeout 120 gdb -batch -nx -ex 'set breakpoint pending on' -ex 'break weft_gdb_test_stop' -ex run \
    -ex "source $script" -ex 'weft-fibers' -ex kill --args "$helper" 2>&1)
echo "=== live"
echo "$live"
check live "$live"

# 2. A core file written by the kernel.
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo unknown)
if [[ $pattern == \|* || $pattern == */* || $pattern == unknown ]]; then
    echo "SKIP core half: core_pattern is '$pattern', not a file name in the program's directory"
else
    (
        cd "$tmp" || exit 1
        ulimit -c unlimited
        # ASan turns core dumps off unless told otherwise (its shadow is not dumped).
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0:use_madv_dontdump=1" \
            timeout 60 "$helper" abort >/dev/null 2>&1
    )
    core=$(find "$tmp" -maxdepth 1 -name 'core*' -type f | head -n 1)
    if [ -z "$core" ]; then
        echo "SKIP core half: no core file was written (core_pattern '$pattern')"
    else
        dead=$(timeout 120 gdb -batch -nx -ex "source $script" -ex 'weft-fibers' "$helper" "$core" 2>&1)
        echo "=== core"
        echo "$dead"
        check core "$dead"
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures failed"
    exit 1
fi
echo "gdb_test: all passed"
