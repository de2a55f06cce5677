#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/switch.sh — ns per yield between two fibers: weft beside raw Boost.Context, Boost.Fiber and Go.
#
# Runs every program in alternating rounds (A B C A B C ...) pinned to one CPU and
# prints the median of each figure, its spread, and weft's ratio to each peer.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   ROUNDS=5          rounds
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

switch_missing() {
    boost_fiber_missing
    go_missing
}
switch_targets=(weft_switch boost_context_switch boost_fiber_switch)
switch_go=(go_peer:go_peer.go)

bench_switch() {
    say "switch: $rounds rounds"
    run_rounds "$rounds" "weft_switch" "boost_context_switch" "boost_fiber_switch" "go_peer switch"
    header "switch — ns per yield between two fibers (lower is better)"
    row "weft yield" weft_yield_ns weft_yield_ns
    row "Boost.Context fiber resume (raw)" ctx_fiber_switch_ns weft_yield_ns
    row "Boost.Context jump_fcontext" fcontext_jump_ns weft_yield_ns
    row "Boost.Fiber yield" bfiber_yield_ns weft_yield_ns
    row "Go Gosched (GOMAXPROCS=1)" go_yield_ns weft_yield_ns
    verdict "weft <= 1.5x raw Boost.Context" "m(weft_yield_ns) <= 1.5 * m(ctx_fiber_switch_ns)"
}

if bench_executed; then bench_main switch; fi
