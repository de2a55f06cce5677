#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/device_scaling.sh DIR — issue 14's scaling curve of bench/http_server.sh
# on a many-core machine, from the programs bench/device_prepare.sh put in DIR
# (weft_http_server, the static Go server, Debian's wrk and nginx with every
# library they load): nothing is built or installed, and nothing on PATH but
# the shell's tools (bash, awk, sed, taskset, setsid, timeout) is used.
#
# For N = 1, 2, 4, 8 server threads (those that leave CPUs for wrk): weft with
# run(run_options{.threads = N}) and a SO_REUSEPORT server per thread, nginx
# with N workers (listen ... reuseport), Go net/http with GOMAXPROCS=N, all on
# CPUs 0..N-1; wrk on the upper half of the CPUs (the same CPUs and threads
# for every N, so that the load generator is the same at every point), 1,000
# connections, a 1 s warm-up then 5 s counted, a fresh server each time.
# Prints requests per second and CPU per request for each, weft's ratio to
# nginx and to Go, and each server's scaling (its rate at N over N times its
# rate at one thread). About 85 s on 16 CPUs with the defaults (12 runs).
#
# Run it from the repo root, or as DIR/device_scaling.sh DIR (DIR holds
# copies of it, harness.sh and http_server.sh).
# Environment:
#   DEVICE_N="1 2 4 8"   server threads, one after the other
#   DEVICE_ROUNDS=1      rounds (each runs every server at every N once; 2 take ~3 min)
#   DEVICE_CONNS=1000    wrk's connections
#   DEVICE_SECONDS=5 DEVICE_WARMUP=1   counted seconds of each run, after the warm-up
#   DEVICE_LOAD_CPUS     wrk's CPUs (default: the upper half, past the largest N)
#   HTTP_SERVERS="weft nginx go"   which servers
#   BENCH_RAW=file       also keep every run's figures there
set -euo pipefail

[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 DIR (made by bench/device_prepare.sh)" >&2; exit 2; }
dir=$(cd "$1" && pwd)
for p in bin/weft_http_server bin/http_server_go bin/wrk bin/nginx; do
    [ -x "$dir/$p" ] || { echo "$dir/$p is missing: run bench/device_prepare.sh first" >&2; exit 2; }
done
# The programs, before http_server.sh is sourced (it keeps what is set).
http_weft=$dir/bin/weft_http_server
http_go=$dir/bin/http_server_go
http_wrk=$dir/bin/wrk
http_nginx=$dir/bin/nginx
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=http_server.sh
source "$(dirname "${BASH_SOURCE[0]}")/http_server.sh"

http_conns=${DEVICE_CONNS:-1000}
http_seconds=${DEVICE_SECONDS:-5}
http_warmup=${DEVICE_WARMUP:-1}
rounds=${DEVICE_ROUNDS:-1}
device_setup wrk "$http_conns"

runs=$((${#ns[@]} * $(wc -w <<<"$http_servers") * rounds))
device_machine_line "$dir" "weft|wrk|nginx|go"
say "device_scaling: N = ${ns[*]}, $http_conns connections, ${http_warmup}+${http_seconds} s runs, wrk on CPU $load_cpus, $rounds round(s): $runs runs, about $((runs * (http_warmup + http_seconds + 1))) s"

for n in "${ns[@]}"; do
    http_threads=$n
    HTTP_SERVER_CPUS=$(cpu_list 0 $((n - 1)))
    HTTP_LOAD_CPUS=$load_cpus
    http_pin
    for ((r = 1; r <= rounds; r++)); do
        printf '  N=%s round %d/%d (%s):' "$n" "$r" "$rounds" "$http_where" >&2
        http_notes=""
        for s in $http_servers; do http_run "dev_${n}_$s" "$s" "$http_conns" "$r"; done
        printf '\n%s' "$http_notes" >&2
    done
done

# scale N LABEL: LABEL's rate at N over N times its rate at the first N.
scale() { scaling "dev_$1_$2_rps" "dev_${ns[0]}_$2_rps" "$1" "${ns[0]}"; }

printf '\ndevice_scaling — hello world over keep-alive, %s connections, wrk -t%s on CPU %s, %s s per run after %s s\n' \
    "$http_conns" "$http_wrk_threads" "$load_cpus" "$http_seconds" "$http_warmup"
printf '  servers on CPUs 0..N-1: weft threads, nginx workers, Go GOMAXPROCS = N; req/s (higher is better),\n'
printf '  weft/this: ratio of the medians; scaling: req/s at N / (N x req/s at N=%s); CPU us per request\n' "${ns[0]}"
printf '  (lower is better); wrk util: CPU seconds per second of wrk in the weft run (near %s: wrk was the limit)\n' \
    "$http_wrk_threads"
fmt_row='  %3s %9s %9s %9s  %6s %6s   %5s %5s %5s   %6s %6s %6s  %4s\n'
printf "$fmt_row" N weft nginx Go "weft/" "weft/" "" scaling "" "" "CPU us" "" wrk
printf "$fmt_row" "" "req/s" "req/s" "req/s" nginx Go weft nginx Go weft nginx Go util
for n in "${ns[@]}"; do
    k=dev_${n}
    printf "$fmt_row" "$n" "$(cell "${k}_weft_rps")" "$(cell "${k}_nginx_rps")" "$(cell "${k}_go_rps")" \
        "$(ratio "${k}_weft_rps" "${k}_nginx_rps")" "$(ratio "${k}_weft_rps" "${k}_go_rps")" \
        "$(scale "$n" weft)" "$(scale "$n" nginx)" "$(scale "$n" go)" \
        "$(cell "${k}_weft_cpu_us")" "$(cell "${k}_nginx_cpu_us")" "$(cell "${k}_go_cpu_us")" \
        "$(m=$(median "${k}_weft_wrk_util"); [ -n "$m" ] && printf '%.2f' "$m" || echo -)"
done
for n in "${ns[@]}"; do
    verdict "N=$n: weft >= nginx (req/s)" "m(dev_${n}_weft_rps) >= m(dev_${n}_nginx_rps)"
    [ "$n" = "${ns[0]}" ] ||
        verdict "N=$n: weft >= 0.9 x N x its N=${ns[0]} rate" \
            "m(dev_${n}_weft_rps) >= 0.9 * $n / ${ns[0]} * m(dev_${ns[0]}_weft_rps)"
done
printf '  load average (1 min) after each run: %s\n' "$(spread http_load1)"
