#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/spawn.sh — ns per fiber from spawn to join, 100k fibers: weft beside Boost.Fiber and Go.
#
# One at a time, a batch on fresh stacks and a batch again on reused ones, in
# alternating rounds pinned to one CPU: medians, spreads and weft's ratios.
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

spawn_missing() {
    boost_fiber_missing
    go_missing
}
spawn_targets=(weft_spawn boost_fiber_spawn)
spawn_go=(go_peer:go_peer.go)

bench_spawn() {
    say "spawn: $rounds rounds"
    run_rounds "$rounds" "weft_spawn" "boost_fiber_spawn 100000 default" "boost_fiber_spawn 100000 pooled" "go_peer spawn"
    header "spawn — ns per fiber, spawn to join, 100k fibers (lower is better)"
    printf '  one at a time (spawn, join, repeat)\n'
    row "weft" weft_spawn_seq_ns weft_spawn_seq_ns
    row "Boost.Fiber (default stacks)" bfiber_default_spawn_seq_ns weft_spawn_seq_ns
    row "Boost.Fiber (pooled stacks)" bfiber_pooled_spawn_seq_ns weft_spawn_seq_ns
    row "Go (go + WaitGroup)" go_spawn_seq_ns weft_spawn_seq_ns
    printf '  batch: spawn 100k, then join all (first in the process: fresh stacks)\n'
    row "weft" weft_spawn_batch_ns weft_spawn_batch_ns
    row "Boost.Fiber (default stacks)" bfiber_default_spawn_batch_ns weft_spawn_batch_ns
    row "Boost.Fiber (pooled stacks)" bfiber_pooled_spawn_batch_ns weft_spawn_batch_ns
    row "Go" go_spawn_batch_ns weft_spawn_batch_ns
    row "Go, all 100k alive at once (gated)" go_spawn_batch_alive_ns weft_spawn_batch_ns
    printf '  batch again (stacks reused)\n'
    row "weft" weft_spawn_batch_warm_ns weft_spawn_batch_warm_ns
    row "Boost.Fiber (default stacks)" bfiber_default_spawn_batch_warm_ns weft_spawn_batch_warm_ns
    row "Boost.Fiber (pooled stacks)" bfiber_pooled_spawn_batch_warm_ns weft_spawn_batch_warm_ns
    row "Go" go_spawn_batch_warm_ns weft_spawn_batch_warm_ns
    verdict "one at a time <= 100 ns" "m(weft_spawn_seq_ns) <= 100"
    verdict "batch (fresh) ahead of Go" "m(weft_spawn_batch_ns) < m(go_spawn_batch_ns)"
    verdict "batch (reused) ahead of Go" "m(weft_spawn_batch_warm_ns) < m(go_spawn_batch_warm_ns)"
}

if bench_executed; then bench_main spawn; fi
