#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [switch|spawn|idle|timer|echo|dns|fetch|to_thread|http_server|all|soak] — weft beside its peers, in one run.
#
# The entry point that runs the benchmarks: each is a script of its own
# (bench/switch.sh, spawn.sh, idle.sh, timer.sh, echo.sh, dns.sh, fetch.sh,
# to_thread.sh, http_server.sh, and soak.sh, which is not part of all), runnable
# alone with the same output; bench/harness.sh holds what they share. run.sh
# sources them, installs what any of them misses (needs root and apt),
# configures a release build in build-bench/, builds weft's programs and the
# C++ peers with ninja and the Go peers with `go build` once, prints the
# machine line and then runs each in turn. Each runs its programs in
# alternating rounds (A B C A B C ...) and prints the median of each figure,
# its spread, and weft's ratio to each peer. A peer that cannot be had is
# skipped, saying so.
#
# Environment: ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL, VERBOSE and
# BENCH_RAW (bench/harness.sh), and each benchmark's own, in its script's
# header (IDLE_*, ECHO_*, DNS_*, FETCH_*, SOAK_*, TO_THREAD_*, HTTP_*).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all=(switch spawn idle timer echo dns fetch to_thread http_server)
what=${1:-all}

case $what in
    switch | spawn | idle | timer | echo | dns | fetch | to_thread | http_server | all | soak) ;;
    *) echo "usage: $0 [switch|spawn|idle|timer|echo|dns|fetch|to_thread|http_server|all|soak]" >&2; exit 2 ;;
esac

# shellcheck source=harness.sh
source "$here/harness.sh"
names=("$what")
[ "$what" = all ] && names=("${all[@]}")
for name in "${names[@]}"; do
    # shellcheck source=/dev/null
    source "$here/$name.sh"
done
bench_main "${names[@]}"
