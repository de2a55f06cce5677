#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/valgrind.sh [TEST...] runs weft's core tests under Valgrind's
# memcheck, fiber stacks registered with it (-Dvalgrind=enabled), in a build of
# its own, build-valgrind (debugoptimized, no million-fiber tests, no demos or
# benchmarks). A test fails when its binary fails, when memcheck finds an error
# (invalid read or write, use of uninitialised memory, a bad free, a definite
# leak: exit code 99), or when it runs past VALGRIND_TIMEOUT. The last line
# printed is always `N passed, N failed`; the exit status is 0 only when
# nothing failed. Logs: build-valgrind/valgrind/NAME.{out,log}.
#
# Environment: VALGRIND_JOBS (tests at once, default: the CPU count),
# VALGRIND_TIMEOUT (seconds per test binary, default 1200).
set -uo pipefail

packages=(meson ninja-build g++ pkg-config libboost-context-dev libboost-dev libc-ares-dev libssl-dev zlib1g-dev libbrotli-dev openssl ca-certificates catch2 valgrind)

# shellcheck source=install_missing.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_missing.sh"

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if ! install_missing "${packages[@]}"; then
    echo "valgrind.sh: could not install the packages it needs" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

dir=build-valgrind
jobs=${VALGRIND_JOBS:-$(nproc)}
limit=${VALGRIND_TIMEOUT:-1200}

core=(task run this_fiber timeout channel mutex condition_variable wait_group semaphore stack net_wait
      tcp_stream tcp_listener udp_socket net_address dns beast_stream http_client http_server http_fault)
tests=("${core[@]}")
(($#)) && tests=("$@")

# Test cases left out under Valgrind, by binary (Catch2 exclusions; a comma in
# a name is written \,). Everything else runs, the 1,000-connection cases too.
#  - run_self() execs /proc/self/exe, which under Valgrind is Valgrind's own
#    tool ("You cannot run '/proc/self/exe' directly"): task's Catch2-in-a-fiber
#    case, tcp_listener's out-of-fds case.
#  - Timing: each assumes the code between two clock reads is fast. Under
#    Valgrind main's 5 ms sleep can be over before it parks, so the task it
#    spawned has not run yet (task); six sleepers start more than 15 ms apart,
#    10,000 sleepers take over 2 s (this_fiber); 1,000 lookups take over 2 s (dns).
#  - dns's leak case measures RSS, which under Valgrind is Valgrind's too
#    (memcheck's own leak check stands in for it).
#  - stack's mprotect case: Valgrind's table of mappings (VG_N_SEGMENTS) fills
#    up long before vm.max_map_count does.
declare -A skip=(
    [task]='~"a Catch2 assertion failing inside a fiber fails the test"~"a task moves through pending\, running\, suspended\, finished"'
    [tcp_listener]='~"out of fds\, accept neither spins nor drops the pending connection"'
    [this_fiber]='~"sleepers wake in deadline order"~"10\,000 fibers each sleeping 100 ms all finish in about 100 ms"'
    [dns]='~"1\,000 concurrent lookups with a 200 ms server delay take about one delay"~"no fd or memory leak after 10\,000 lookups"'
    [stack]='~"mprotect guards stop at vm.max_map_count with a clear error\, not a crash"'
)

# Forked children (run_child) are not checked: several die on purpose (the
# guard page, overflow and segfault tests) or leave with _Exit.
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --track-fds=no --child-silent-after-fork=yes --num-callers=40 -q)

echo "=== $dir: configure and build"
opts=(--buildtype=debugoptimized -Dvalgrind=enabled -Dtests=true -Ddemos=false -Dbench=false -Dslow_tests=false)
if [[ -f $dir/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null || meson setup --wipe "$dir" "${opts[@]}" >/dev/null
else
    rm -rf "$dir"
    meson setup "$dir" "${opts[@]}" >/dev/null
fi || { echo "valgrind.sh: meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
targets=()
for t in "${tests[@]}"; do targets+=("tests/${t}_test"); done
if ! ninja -C "$dir" "${targets[@]}"; then
    echo "valgrind.sh: build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

mkdir -p "$dir/valgrind"
# run_one NAME: writes NAME.{out,log} and NAME.rc.
run_one() {
    local t=$1 start=$SECONDS rc
    timeout -k 10 "$limit" "${vg[@]}" --log-file="$dir/valgrind/$t.log" "$dir/tests/${t}_test" \
        --order decl "~[slow]~[.]${skip[$t]:-}" >"$dir/valgrind/$t.out" 2>&1
    rc=$?
    echo "$rc $((SECONDS - start))" >"$dir/valgrind/$t.rc"
}

echo "=== $dir: ${#tests[@]} test binaries under memcheck, $jobs at a time, ${limit} s each at most"
for t in "${tests[@]}"; do
    rm -f "$dir/valgrind/$t.rc"
    run_one "$t" &
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
done
wait

passed=0 failed=0
for t in "${tests[@]}"; do
    read -r rc took <"$dir/valgrind/$t.rc" 2>/dev/null || { rc=255 took=0; }
    # Valgrind 3.19 (Debian 12) does not know epoll_pwait2; weft then uses epoll_wait.
    noise=$(grep -v -e 'unhandled amd64-linux syscall: 441' -e 'write your own handler' \
        -e 'README_MISSING_SYSCALL_OR_IOCTL' -e 'Nevertheless we consider this a bug' \
        -e 'valgrind.org/support/bug_reports' "$dir/valgrind/$t.log" 2>/dev/null)
    case $rc in
        0) what="ok" ;;
        99) what="MEMCHECK ERRORS" ;;
        124 | 137) what="TIMED OUT after $limit s" ;;
        *) what="FAILED (exit $rc)" ;;
    esac
    printf '%-20s %-22s %5d s  %s\n' "$t" "$what" "$took" \
        "$(grep -E '^(test cases|All tests passed)' "$dir/valgrind/$t.out" | tail -1)"
    if [[ $rc == 0 ]]; then
        ((passed++))
        continue
    fi
    ((failed++))
    [[ -n $noise ]] && head -60 <<<"$noise" | sed 's/^/    /'
    [[ $rc != 99 ]] && grep -v '^==' "$dir/valgrind/$t.out" | tail -40 | sed 's/^/    /'
done
echo "$passed passed, $failed failed"
((failed == 0))
