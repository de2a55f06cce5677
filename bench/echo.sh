#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/echo.sh — a loopback echo server in ping-pong and streaming modes: weft beside a hand-written C epoll server and Go.
#
# Every server runs on one CPU and the one load generator (echo_load) on
# another, each in a session of its own; messages echoed per second and the
# server's CPU per message, medians over rounds, spreads and weft's ratios.
# THREADS=N runs each server at N (issue 14): weft with
# run(run_options{.threads = N}) and a SO_REUSEPORT listener per thread, the C
# server as N forked processes with a SO_REUSEPORT listener each, Go with
# GOMAXPROCS=N; the servers on CPUs 0..N-1, echo_load on the others with a
# thread per CPU. bench/device_echo_scaling.sh runs it at N = 1, 2, 4, 8 from
# prebuilt programs.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   ECHO_ROUNDS=5     rounds (each runs every server in both modes)
#   ECHO_SECONDS=5 ECHO_WARMUP=1   counted seconds per run, after the warm-up
#   ECHO_CONNS=1000   ping-pong connections (one message in flight each)
#   ECHO_STREAM_CONNS=8 ECHO_DEPTH=64   streaming connections, messages in flight each
#   ECHO_MSG=512      message bytes
#   THREADS=1         server threads (weft), processes (C), GOMAXPROCS (Go)
#   ECHO_SERVER_CPU=0 ECHO_LOAD_CPU=1   taskset CPU lists of the server and of the load
#                     generator (default: the server on 0..N-1, the load on N and up;
#                     not pinned with BENCH_CPU=none or without a CPU left for the load)
#   ECHO_LOAD_THREADS echo_load's threads (default: 1 at THREADS=1, else one per load CPU)
#   ECHO_SETSID=0     run the servers and the load generator in this script's session
#                     (default: each in its own, see bench_echo)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

echo_missing() {
    go_missing
}
echo_targets=(weft_echo_server epoll_echo echo_load)
echo_go=(go_echo_server:echo_server.go)

echo_rounds=${ECHO_ROUNDS:-5}
echo_seconds=${ECHO_SECONDS:-5}
echo_warmup=${ECHO_WARMUP:-1}
echo_conns=${ECHO_CONNS:-1000}
echo_stream_conns=${ECHO_STREAM_CONNS:-8}
echo_depth=${ECHO_DEPTH:-64}
echo_msg=${ECHO_MSG:-512}
echo_threads=${THREADS:-1}
# The programs: bench/device_echo_scaling.sh sets this to its folder's.
echo_bin=${echo_bin:-$bin}

# echo_pin: sets spin and lpin (taskset prefixes) and echo_load_threads from
# THREADS and the variables above.
echo_pin() {
    local scpus lcpus n
    n=$(nproc)
    scpus=${ECHO_SERVER_CPU:-$(cpu_list 0 $((echo_threads - 1)))}
    lcpus=${ECHO_LOAD_CPU:-$(cpu_list "$echo_threads" $((n - 1)))}
    spin=() lpin=()
    if [ "$cpu" != none ] && [ -n "$lcpus" ] && command -v taskset >/dev/null; then
        spin=(taskset -c "$scpus")
        lpin=(taskset -c "$lcpus")
    elif [ -z "$lcpus" ] && [ "$cpu" != none ] && ((echo_threads > 1)); then
        say "echo: no CPU left for the load generator beside $echo_threads server threads on $n CPUs: nothing is pinned"
    fi
    if [ -n "${ECHO_LOAD_THREADS:-}" ]; then
        echo_load_threads=$ECHO_LOAD_THREADS
    elif ((echo_threads == 1)) || [ -z "$lcpus" ]; then
        echo_load_threads=1
    else
        echo_load_threads=$(awk -v l="$lcpus" 'BEGIN {n = split(l, p, ","); c = 0
            for (i = 1; i <= n; i++) {if (split(p[i], r, "-") == 2) c += r[2] - r[1] + 1; else if (p[i] != "") c++}
            print c}')
    fi
}
echo_pin
# With autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled), CPU
# time is shared fairly between sessions first, then between the threads of a
# session. Each server and the load generator get a session of their own: then
# a server has one session's share of its CPU whatever its thread count (in
# one session with the load generator, Go's extra threads got it 1.6-1.8x the
# CPU of a one-thread server on a busy box), and does not split it with the
# load generator's. setsid execs in place (a background job of a script is no
# process group leader), so $! stays the server's pid.
prio=()
[ "${ECHO_SETSID:-1}" != 0 ] && command -v setsid >/dev/null && prio=(setsid)
# The servers, in the order each round runs them: label and program.
echo_servers=("weft weft_echo_server" "epoll epoll_echo" "go go_echo_server")

# echo_run LABEL PROG MODE ROUND: starts the server PROG (usage: PROG PORT
# MAX_SECONDS; with port 0 it prints "PORT n"; THREADS as each takes it) on
# the server CPUs, runs echo_load against it on the others, stops the server,
# and appends the load generator's RESULT lines to $results as
# "echo_MODE_LABEL_KEY VALUE ROUND". MODE stream is the streaming load, any
# other the ping-pong one.
echo_run() {
    local label=$1 prog=$2 mode=$3 round=$4 sout spid port="" i rc=0 out max extra=()
    local load_args=(-c "$echo_conns" -d 1)
    [ "$mode" = stream ] && load_args=(-c "$echo_stream_conns" -d "$echo_depth")
    [ -x "$echo_bin/$prog" ] || return 0
    printf ' [%s]' "$label" >&2
    sout=$(mktemp)
    max=$(seconds_sum "$echo_warmup" "$echo_seconds" 30)
    case $label in
        weft) ((echo_threads == 1)) || extra=(16384 "$echo_threads") ;;
        epoll) ((echo_threads == 1)) || extra=(short own "procs=$echo_threads") ;;
    esac
    # The server stops by itself after its MAX_SECONDS, should this script die.
    GOMAXPROCS=$echo_threads "${prio[@]}" "${spin[@]}" "$echo_bin/$prog" 0 "$max" "${extra[@]}" >"$sout" &
    spid=$!
    for ((i = 0; i < 100; i++)); do
        port=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$port" ]; then
        out=$(timeout "$(seconds_sum "$echo_warmup" "$echo_seconds" 60)" "${prio[@]}" "${lpin[@]}" "$echo_bin/echo_load" "$port" \
            "${load_args[@]}" -m "$echo_msg" -t "$echo_seconds" -w "$echo_warmup" -T "$echo_load_threads" -p "$spid") || rc=$?
        [ $rc = 0 ] || printf ' (exit %d)' "$rc" >&2
    else
        printf ' (no port)' >&2
        out=""
    fi
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    rm -f "$sout"
    awk -v p="echo_${mode}_${label}_" -v r="$round" -F'[ =]' '/^RESULT /{print p $2, $3, r}' <<<"$out" >>"$results"
    printf 'echo_load1 %s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$round" >>"$results"
    if [ -n "${VERBOSE:-}" ]; then grep '^INFO' <<<"$out" | sed 's/^/    /' >&2 || true; fi
}

# paired A B: the median over rounds of A / B, each taken from one round (the
# programs of a round ran back to back, so this cancels the box's drift).
paired() {
    awk -v a="$1" -v b="$2" '$1 == a {va[$3] = $2} $1 == b {vb[$3] = $2}
        END {for (r in va) if ((r in vb) && vb[r] > 0) print va[r] / vb[r]}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

# range KEY: "[min..max]" over the rounds, each end as fmt() writes it.
range() {
    local lo hi
    read -r lo hi < <(awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g | sed -n '1p;$p' | tr '\n' ' ')
    [ -n "$lo" ] && printf '[%s..%s]' "$(fmt "$lo")" "$(fmt "${hi:-$lo}")"
}

# ratio A B: median(A) / median(B), two decimals; empty when either is missing.
ratio() {
    awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {if (a != "" && b > 0) printf "%.2f", a / b}'
}

# echo_row MODE LABEL TEXT: throughput with its spread and weft's ratio to it
# (of the medians, and paired by round), the same for the server's CPU time
# per message, then the user-space share of that CPU time and how busy the
# server and the load generator were.
echo_row() {
    local mode=$1 label=$2 text=$3 k="echo_$1_$2_" w="echo_$1_weft_" m c su lu us
    m=$(median "${k}msgs_per_s")
    if [ -z "$m" ]; then
        printf '  %-28s %9s\n' "$text" "skipped"
        return
    fi
    c=$(median "${k}server_cpu_ns_per_msg")
    su=$(median "${k}server_cpu_util")
    lu=$(median "${k}loadgen_cpu_util")
    us=$(median "${k}server_user_share")
    printf '  %-28s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s  %4s %4s\n' "$text" \
        "$(fmt "$m")" "$(range "${k}msgs_per_s")" \
        "$(ratio "${w}msgs_per_s" "${k}msgs_per_s")" "$(paired "${w}msgs_per_s" "${k}msgs_per_s")" \
        "${c:+$(fmt "$c")}" "$(range "${k}server_cpu_ns_per_msg")" \
        "$(ratio "${w}server_cpu_ns_per_msg" "${k}server_cpu_ns_per_msg")" \
        "$(paired "${w}server_cpu_ns_per_msg" "${k}server_cpu_ns_per_msg")" \
        "${us:+$(awk -v v="$us" 'BEGIN {printf "%.0f%%", v * 100}')}" \
        "${su:+$(printf '%.2f' "$su")}" "${lu:+$(printf '%.2f' "$lu")}"
}

echo_table() {
    local mode=$1
    printf '  %-28s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s  %4s %4s\n' "server" "msgs/s" "[min..max]" \
        "weft/" "" "CPU ns" "[min..max]" "weft/" "" "user" "srv" "load"
    printf '  %-28s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s  %4s %4s\n' "" "median" "" "this" "pair" \
        "per msg" "" "this" "pair" "" "util" "util"
    local t=$echo_threads
    if ((t == 1)); then
        echo_row "$mode" weft "weft (fiber per connection)"
        echo_row "$mode" epoll "C epoll, edge-triggered"
    else
        echo_row "$mode" weft "weft ($t threads, reuse_port)"
        echo_row "$mode" epoll "C epoll ($t procs, reuseport)"
    fi
    echo_row "$mode" go "Go (GOMAXPROCS=$t)"
    verdict "$2: weft >= 0.95x C epoll (msgs/s)" "m(echo_${mode}_weft_msgs_per_s) >= 0.95 * m(echo_${mode}_epoll_msgs_per_s)"
    verdict "$2: weft ahead of Go (msgs/s)" "m(echo_${mode}_weft_msgs_per_s) > m(echo_${mode}_go_msgs_per_s)"
    verdict "$2: weft's CPU per message <= C epoll's / 0.95" \
        "m(echo_${mode}_weft_server_cpu_ns_per_msg) * 0.95 <= m(echo_${mode}_epoll_server_cpu_ns_per_msg)"
    verdict "$2: weft's CPU per message below Go's" \
        "m(echo_${mode}_weft_server_cpu_ns_per_msg) < m(echo_${mode}_go_server_cpu_ns_per_msg)"
}

bench_echo() {
    local r mode s lbl prog
    # 1000 connections need more than the usual 1024 descriptors per process.
    ulimit -n 20000 2>/dev/null || ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true
    if [ "$(ulimit -n)" != unlimited ] && (($(ulimit -n) < echo_conns + 64)); then
        say "echo: ulimit -n is $(ulimit -n), too few for $echo_conns connections; skipped"
        return 0
    fi
    [ -x "$echo_bin/echo_load" ] || { say "echo: echo_load not built (no C compiler?); skipped"; return 0; }
    [ -x "$echo_bin/weft_echo_server" ] || say "echo: weft_echo_server not built: weft is left out"
    say "echo: $echo_rounds rounds of ${echo_warmup}+${echo_seconds} s runs, THREADS=$echo_threads, server ${spin[*]:-unpinned}, load ${lpin[*]:-unpinned} with $echo_load_threads thread(s), ulimit -n $(ulimit -n)${prio[*]:+, each in its own session}"
    for ((r = 1; r <= echo_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$echo_rounds" >&2
        for mode in pp stream; do
            printf ' %s' "$mode" >&2
            for s in "${echo_servers[@]}"; do
                read -r lbl prog <<<"$s"
                echo_run "$lbl" "$prog" "$mode" "$r"
            done
        done
        printf '\n' >&2
    done
    printf '\necho — loopback echo, %s-byte messages, messages echoed per second (higher is better)\n' "$echo_msg"
    ((echo_threads == 1)) || printf '  THREADS=%s: servers %s, echo_load -T %s %s\n' "$echo_threads" \
        "${spin[*]:-unpinned}" "$echo_load_threads" "${lpin[*]:-unpinned}"
    printf '  weft/this: ratio of the medians; pair: median of the ratios within a round (the steadier one);\n'
    printf '  CPU ns per msg: the server'"'"'s utime+stime over the counted window, per message (lower is better);\n'
    printf '  user: its user-space share; util: CPU seconds per second of the server and of the load\n'
    printf '  generator (near 1: that side was the limit; far below 1 on a busy box: both waited for a CPU)\n'
    printf ' ping-pong: %s connections, one message in flight each\n' "$echo_conns"
    echo_table pp "ping-pong"
    printf ' streaming: %s connections, %s messages in flight each\n' "$echo_stream_conns" "$echo_depth"
    echo_table stream "streaming"
    printf '  load average (1 min) after each run: %s\n' "$(spread echo_load1)"
}

if bench_executed; then bench_main echo; fi
