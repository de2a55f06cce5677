#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/soak.sh — a pass/fail hardening check: 5,000 HTTP connections churning for a minute.
#
# weft's client against weft's server in one process, RSS and descriptors
# sampled every second; exits non-zero when they grow (not part of run.sh all).
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   SOAK_SECONDS=60 SOAK_CONNS=5000   its length and client connections
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

soak_missing() {
    :
}
soak_targets=(weft_soak)
soak_go=()

# Not a comparison (no peers) but a pass/fail hardening check: weft_soak churns
# SOAK_CONNS connections for SOAK_SECONDS, prints a line a second and its
# verdict; run.sh exits non-zero when the verdict is FAIL. Not part of `all`.
bench_soak() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # two descriptors a connection; weft_soak says if it must use fewer
    [ -x "$bin/weft_soak" ] || { say "soak: weft_soak not built"; return 1; }
    say "soak: ${SOAK_SECONDS:-60} s, ${SOAK_CONNS:-5000} connections, ${pin[*]:-unpinned}, ulimit -n $(ulimit -n)"
    "${pin[@]}" "$bin/weft_soak" "${SOAK_SECONDS:-60}" "${SOAK_CONNS:-5000}"
}

if bench_executed; then bench_main soak; fi
