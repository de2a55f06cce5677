#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/device_echo_scaling.sh DIR — issue 14's echo benchmark at N threads
# (bench/echo.sh with THREADS=N) on a many-core machine, from the programs
# bench/device_prepare.sh put in DIR (weft_echo_server, epoll_echo and
# echo_load with every library they load, the static Go echo server): nothing
# is built or installed, and nothing on PATH but the shell's tools (bash, awk,
# sed, taskset, setsid, timeout) is used.
#
# For N = 1, 2, 4, 8 (those that leave CPUs for the load generator): weft with
# run(run_options{.threads = N}) and a SO_REUSEPORT listener per thread, the C
# epoll server as N forked processes with a SO_REUSEPORT listener each, Go
# with GOMAXPROCS=N, all on CPUs 0..N-1; echo_load on the upper half of the
# CPUs with a thread per CPU (the same CPUs and threads at every N, so that
# the load generator is the same at every point), 1,000 ping-pong connections
# of 512-byte messages, a 1 s warm-up then 5 s counted, a fresh server each
# time. Prints messages per second and the server's CPU per message (every
# thread and process of it), weft's ratio to C and to Go, and each server's
# scaling (its rate at N over N times its rate at the first N). About 90 s on
# 16 CPUs with the defaults (12 runs).
#
# Run it from the repo root, or as DIR/device_echo_scaling.sh DIR (DIR holds
# copies of it, harness.sh and echo.sh).
# Environment:
#   DEVICE_N="1 2 4 8"   server threads, one after the other
#   DEVICE_ROUNDS=1      rounds (each runs every server at every N once)
#   DEVICE_CONNS=1000    ping-pong connections (one message in flight each)
#   DEVICE_SECONDS=5 DEVICE_WARMUP=1   counted seconds of each run, after the warm-up
#   DEVICE_LOAD_CPUS     echo_load's CPUs (default: the upper half, past the largest N)
#   DEVICE_LOAD_THREADS  echo_load's threads (default: one per CPU of DEVICE_LOAD_CPUS)
#   ECHO_SERVERS="weft epoll go"   which servers
#   ECHO_MSG=512         message bytes
#   BENCH_RAW=file       also keep every run's figures there
set -euo pipefail

[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 DIR (made by bench/device_prepare.sh)" >&2; exit 2; }
dir=$(cd "$1" && pwd)
for p in bin/weft_echo_server bin/epoll_echo bin/go_echo_server bin/echo_load; do
    [ -x "$dir/$p" ] || { echo "$dir/$p is missing: run bench/device_prepare.sh first" >&2; exit 2; }
done
# The programs, before echo.sh is sourced (it keeps what is set).
echo_bin=$dir/bin
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# shellcheck source=echo.sh
source "$(dirname "${BASH_SOURCE[0]}")/echo.sh"

echo_conns=${DEVICE_CONNS:-1000}
echo_seconds=${DEVICE_SECONDS:-5}
echo_warmup=${DEVICE_WARMUP:-1}
rounds=${DEVICE_ROUNDS:-1}
servers=${ECHO_SERVERS:-weft epoll go}
device_setup echo_load "$echo_conns"
load_threads=${DEVICE_LOAD_THREADS:-$(cpu_count "$load_cpus")}

runs=$((${#ns[@]} * $(wc -w <<<"$servers") * rounds))
device_machine_line "$dir" "weft|go"
say "device_echo_scaling: N = ${ns[*]}, $echo_conns ping-pong connections, ${echo_warmup}+${echo_seconds} s runs, echo_load -T $load_threads on CPU $load_cpus, $rounds round(s): $runs runs, about $((runs * (echo_warmup + echo_seconds + 1))) s"

for n in "${ns[@]}"; do
    echo_threads=$n
    ECHO_SERVER_CPU=$(cpu_list 0 $((n - 1)))
    ECHO_LOAD_CPU=$load_cpus
    ECHO_LOAD_THREADS=$load_threads
    echo_pin
    for ((r = 1; r <= rounds; r++)); do
        printf '  N=%s round %d/%d (server %s, load %s):' "$n" "$r" "$rounds" "${spin[*]:-unpinned}" \
            "${lpin[*]:-unpinned}" >&2
        for s in $servers; do
            case $s in
                weft) echo_run weft weft_echo_server "n$n" "$r" ;;
                epoll) echo_run epoll epoll_echo "n$n" "$r" ;;
                go) echo_run go go_echo_server "n$n" "$r" ;;
            esac
        done
        printf '\n' >&2
    done
done

# util KEY: the median of KEY with two decimals, or "-".
util() {
    local m
    m=$(median "$1")
    if [ -n "$m" ]; then printf '%.2f' "$m"; else echo -; fi
}
# scale N LABEL: LABEL's rate at N over N times its rate at the first N.
scale() { scaling "echo_n$1_$2_msgs_per_s" "echo_n${ns[0]}_$2_msgs_per_s" "$1" "${ns[0]}"; }

printf '\ndevice_echo_scaling — loopback echo, %s ping-pong connections of %s-byte messages, echo_load -T%s on CPU %s,\n' \
    "$echo_conns" "$echo_msg" "$load_threads" "$load_cpus"
printf '  %s s per run after %s s; servers on CPUs 0..N-1: weft threads (a reuse_port listener each), C epoll\n' \
    "$echo_seconds" "$echo_warmup"
printf '  processes (SO_REUSEPORT each), Go GOMAXPROCS = N; msgs/s (higher is better), weft/this: ratio of the\n'
printf '  medians; scaling: msgs/s at N / (N x msgs/s at N=%s); CPU ns per message: the server'"'"'s utime+stime\n' \
    "${ns[0]}"
printf '  (every thread and process) over the counted run (lower is better); util: CPU seconds per second of\n'
printf '  weft'"'"'s server (near N: it was the limit) and of echo_load in weft'"'"'s run (near %s: the load was)\n' \
    "$load_threads"
fmt_row='  %3s %9s %9s %9s  %5s %5s   %5s %5s %5s   %6s %6s %6s  %5s %5s\n'
printf "$fmt_row" N weft C Go "weft/" "weft/" "" scaling "" "CPU ns" "per" msg "util" ""
printf "$fmt_row" "" "msgs/s" "msgs/s" "msgs/s" C Go weft C Go weft C Go srv load
for n in "${ns[@]}"; do
    k=echo_n${n}
    printf "$fmt_row" "$n" "$(cell "${k}_weft_msgs_per_s")" "$(cell "${k}_epoll_msgs_per_s")" \
        "$(cell "${k}_go_msgs_per_s")" \
        "$(ratio "${k}_weft_msgs_per_s" "${k}_epoll_msgs_per_s")" "$(ratio "${k}_weft_msgs_per_s" "${k}_go_msgs_per_s")" \
        "$(scale "$n" weft)" "$(scale "$n" epoll)" "$(scale "$n" go)" \
        "$(cell "${k}_weft_server_cpu_ns_per_msg")" "$(cell "${k}_epoll_server_cpu_ns_per_msg")" \
        "$(cell "${k}_go_server_cpu_ns_per_msg")" \
        "$(util "${k}_weft_server_cpu_util")" "$(util "${k}_weft_loadgen_cpu_util")"
done
for n in "${ns[@]}"; do
    verdict "N=$n: weft >= 0.95x C epoll (msgs/s)" "m(echo_n${n}_weft_msgs_per_s) >= 0.95 * m(echo_n${n}_epoll_msgs_per_s)"
    verdict "N=$n: weft ahead of Go (msgs/s)" "m(echo_n${n}_weft_msgs_per_s) > m(echo_n${n}_go_msgs_per_s)"
    [ "$n" = "${ns[0]}" ] ||
        verdict "N=$n: weft >= 0.9 x N x its N=${ns[0]} rate" \
            "m(echo_n${n}_weft_msgs_per_s) >= 0.9 * $n / ${ns[0]} * m(echo_n${ns[0]}_weft_msgs_per_s)"
done
printf '  load average (1 min) after each run: %s\n' "$(spread echo_load1)"
