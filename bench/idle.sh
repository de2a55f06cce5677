#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/idle.sh — resident bytes per parked fiber: weft beside Boost.Fiber and Go.
#
# A million parked weft fibers and goroutines, 100k Boost.Fiber ones (its
# stacks cost more), in alternating rounds pinned to one CPU: bytes, mappings
# and virtual bytes per fiber, medians, spreads and weft's ratios.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   IDLE_ROUNDS=3     rounds
#   IDLE_N=1000000    weft and Go fibers parked
#   BFIBER_IDLE_N=100000  Boost.Fiber fibers parked (fewer if memory is short)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

idle_missing() {
    boost_fiber_missing
    go_missing
}
idle_targets=(weft_idle boost_fiber_idle)
idle_go=(go_peer:go_peer.go)

idle_rounds=${IDLE_ROUNDS:-3}
idle_n=${IDLE_N:-1000000}

bench_idle() {
    # Boost.Fiber is measured at 100k fibers by default, as the reference peer
    # was: at a million, its default stacks need ~11 GB resident. It never gets
    # more than a quarter of the available memory (the box may be shared).
    local avail_kb bf_n cap
    avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    bf_n=${BFIBER_IDLE_N:-100000}
    cap=$((avail_kb * 1024 / 4 / 16384 / 10000 * 10000))
    ((cap < 10000)) && cap=10000
    ((bf_n > cap)) && { say "idle: Boost.Fiber gets $cap fibers, not $bf_n (MemAvailable ${avail_kb} kB)"; bf_n=$cap; }
    say "idle: $idle_rounds rounds, $idle_n weft and Go fibers, $bf_n Boost.Fiber ones (protected: as many as vm.max_map_count allows)"
    run_rounds "$idle_rounds" "weft_idle $idle_n" "boost_fiber_idle $bf_n default" \
        "boost_fiber_idle $bf_n pooled" "boost_fiber_idle $bf_n protected" "go_peer idle $idle_n"
    header "idle — resident bytes per parked fiber (lower is better)"
    row "weft (64 KiB stack + guard)" weft_idle_rss_bytes weft_idle_rss_bytes
    row "Boost.Fiber default (128 KiB)" bfiber_default_idle_rss_bytes weft_idle_rss_bytes
    row "Boost.Fiber pooled" bfiber_pooled_idle_rss_bytes weft_idle_rss_bytes
    row "Boost.Fiber protected (guard page)" bfiber_protected_idle_rss_bytes weft_idle_rss_bytes
    row "Go goroutine" go_idle_rss_bytes weft_idle_rss_bytes
    printf '  fibers parked\n'
    row "weft" weft_idle_created
    row "Boost.Fiber default" bfiber_default_idle_created
    row "Boost.Fiber pooled" bfiber_pooled_idle_created
    row "Boost.Fiber protected" bfiber_protected_idle_created
    row "Go" go_idle_created
    printf '  mappings added (/proc/self/maps; vm.max_map_count=%s)\n' "$(cat /proc/sys/vm/max_map_count)"
    row "weft" weft_idle_maps
    row "Boost.Fiber default" bfiber_default_idle_maps
    row "Boost.Fiber pooled" bfiber_pooled_idle_maps
    row "Boost.Fiber protected" bfiber_protected_idle_maps
    row "Go" go_idle_maps
    printf '  virtual bytes per fiber\n'
    row "weft" weft_idle_vsz_bytes
    row "Boost.Fiber default" bfiber_default_idle_vsz_bytes
    row "Boost.Fiber pooled" bfiber_pooled_idle_vsz_bytes
    row "Boost.Fiber protected" bfiber_protected_idle_vsz_bytes
    row "Go" go_idle_vsz_bytes
    verdict "<= 5 KiB per idle fiber" "m(weft_idle_rss_bytes) <= 5120"
}

if bench_executed; then bench_main idle; fi
