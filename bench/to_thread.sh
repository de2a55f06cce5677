#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/to_thread.sh — a round trip from a fiber to a worker thread and back: weft beside asyncio.to_thread and Go.
#
# One caller after another and 64 at once, in alternating rounds (not pinned:
# the pools' threads are the point): ns per call, medians and weft's ratios.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   ROUNDS=5          rounds
#   TO_THREAD_N=20000 TO_THREAD_C=64   calls per run, callers at once in its second part
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

to_thread_missing() {
    go_missing
}
to_thread_targets=(weft_to_thread)
to_thread_go=(to_thread_go:to_thread_go.go)

# to_thread: a round trip from a fiber to a worker thread and back, beside
# asyncio.to_thread and Go's two ways of the same (bench/peers/to_thread_go.go).
# Not pinned to one CPU: the pools' threads are the point.
bench_to_thread() {
    local n=${TO_THREAD_N:-20000} c=${TO_THREAD_C:-64}
    local pin=()  # run_rounds reads this one
    say "to_thread: $rounds rounds, $n calls each way"
    ln -sf "$here/peers/to_thread_asyncio.py" "$bin/to_thread_asyncio"  # run_rounds runs what is in $bin
    run_rounds "$rounds" "weft_to_thread $n $c" "to_thread_asyncio $n $c" "to_thread_go $n $c"
    header "to_thread — ns per round trip to a worker thread and back (lower is better)"
    printf '  one caller, one call after another (latency)\n'
    row "weft to_thread" weft_to_thread_one_ns weft_to_thread_one_ns
    row "asyncio.to_thread" asyncio_to_thread_one_ns weft_to_thread_one_ns
    row "Go, locked-thread pool + channels" go_thread_one_ns weft_to_thread_one_ns
    row "Go, goroutine blocked in read(2)" go_syscall_one_ns weft_to_thread_one_ns
    printf '  %s callers at once (throughput)\n' "$c"
    row "weft to_thread" weft_to_thread_many_ns weft_to_thread_many_ns
    row "asyncio.to_thread" asyncio_to_thread_many_ns weft_to_thread_many_ns
    row "Go, locked-thread pool + channels" go_thread_many_ns weft_to_thread_many_ns
    row "Go, goroutine blocked in read(2)" go_syscall_many_ns weft_to_thread_many_ns
    verdict "weft ahead of asyncio, one caller" "m(weft_to_thread_one_ns) < m(asyncio_to_thread_one_ns)"
    verdict "weft ahead of asyncio, many callers" "m(weft_to_thread_many_ns) < m(asyncio_to_thread_many_ns)"
}

if bench_executed; then bench_main to_thread; fi
