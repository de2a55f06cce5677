#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/device_micro.sh DIR — the one-core benchmarks (switch, spawn, timer,
# and fetch_many at N = 10,000) on a quiet machine, from the programs in DIR
# (made by bench/device_prepare.sh): each benchmark's own script with
# BENCH_PREBUILT=DIR/bin, so the output, rounds and targets are the ones
# bench/run.sh prints. This 2-core box is shared and noisy; a lent device
# gives the figures these targets are judged on.
#
# Environment: DEVICE_MICRO="switch spawn timer fetch" (which run), ROUNDS
# (switch and spawn, default 5), FETCH_ROUNDS (3), FETCH_N (10000); the
# benchmarks pin to the last CPU (BENCH_CPU), fetch's server and client to
# CPUs 2 and 3 (FETCH_SERVER_CPU, FETCH_CLIENT_CPU).
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1/bin" ] || { echo "usage: $0 DIR (made by bench/device_prepare.sh)" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH_PREBUILT
BENCH_PREBUILT=$(cd "$1/bin" && pwd)
export FETCH_N=${FETCH_N:-10000} FETCH_NETNS=${FETCH_NETNS:-0} FETCH_SERVER_CPU=${FETCH_SERVER_CPU:-2}
export FETCH_CLIENT_CPU=${FETCH_CLIENT_CPU:-3}
[ -f "$1/MANIFEST" ] && sed -n 's/^\(weft\|go\): /  &/p' "$1/MANIFEST"
for b in ${DEVICE_MICRO:-switch spawn timer fetch}; do
    "$here/$b.sh"
done
