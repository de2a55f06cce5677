#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/timer.sh — how late 10,000 sleeping fibers wake, beside a thread's sleep_until.
#
# Medians and p99 of the lateness over rounds, pinned to one CPU.
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

timer_missing() {
    :
}
timer_targets=(weft_timer)
timer_go=()

bench_timer() {
    say "timer: $rounds rounds, 10,000 sleepers"
    run_rounds "$rounds" "weft_timer"
    header "timer — microseconds a sleeper wakes after its deadline (lower is better)"
    row "weft fiber, median" weft_late_median_us
    row "weft fiber, p99" weft_late_p99_us
    row "thread sleep_until, median (floor)" thread_late_median_us weft_late_median_us
    row "thread sleep_until, p99" thread_late_p99_us weft_late_p99_us
    verdict "median wake-up within 1 ms" "m(weft_late_median_us) <= 1000"
    verdict "p99 wake-up within 2 ms" "m(weft_late_p99_us) <= 2000"
}

if bench_executed; then bench_main timer; fi
