#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [switch|spawn|idle|timer|echo|dns|fetch|to_thread|all|soak] — weft beside its peers, in one run.
#
# Installs what is missing (Boost.Fiber, Go; needs root and apt), configures a
# release build in build-bench/, builds weft's programs and the C++ peers,
# builds the Go peer with `go build`, then runs every program in alternating
# rounds (A B C A B C ...) and prints the median of each figure, its spread,
# and weft's ratio to each peer. A peer that cannot be had is skipped, saying so.
#
# Environment:
#   ROUNDS=5          rounds for switch and spawn
#   IDLE_ROUNDS=3     rounds for idle
#   IDLE_N=1000000    weft and Go fibers parked in idle
#   BFIBER_IDLE_N=100000  Boost.Fiber fibers parked in idle (fewer if memory is short)
#   BENCH_CPU=N       pin every program to CPU N (default: the last one); "none": don't pin
#   BENCH_BUILD=dir   build directory (default: build-bench in the repo root)
#   BENCH_NO_INSTALL=1  never call apt-get
#   VERBOSE=1         also show the programs' INFO lines (timings of setup, map counts)
#   ECHO_ROUNDS=5     rounds of echo (each runs every server in both modes)
#   ECHO_SECONDS=5 ECHO_WARMUP=1   counted seconds per run, after the warm-up
#   ECHO_CONNS=1000   ping-pong connections (one message in flight each)
#   ECHO_STREAM_CONNS=8 ECHO_DEPTH=64   streaming connections, messages in flight each
#   ECHO_MSG=512      message bytes
#   ECHO_SERVER_CPU=0 ECHO_LOAD_CPU=1   where the server and the load generator run
#                     (not pinned with BENCH_CPU=none or on one CPU)
#   ECHO_SETSID=0     run the servers and the load generator in this script's session
#                     (default: each in its own, see bench_echo)
#   DNS_ROUNDS=5      rounds of dns (each runs weft, Go and glibc once)
#   DNS_N=10000       lookups per run (distinct names)
#   DNS_THREADS=64    threads of the glibc getaddrinfo pool
#   DNS_SERVER_CPU=0 DNS_CLIENT_CPU=1   where the DNS server and the client run
#                     (not pinned with BENCH_CPU=none or on one CPU)
#   FETCH_ROUNDS=3    rounds of fetch (each runs weft, aiohttp, Go and the C floor once per N)
#   FETCH_N="5 1000 10000"  concurrent GETs per run, one list entry after the other
#   FETCH_SERVER_CPU=0 FETCH_CLIENT_CPU=1   where the Go sleep server and the client run
#                     (not pinned with BENCH_CPU=none or on one CPU)
#   FETCH_NETNS=0     run fetch in this network namespace (default, as root: each run in
#                     one of its own, somaxconn and the SYN queue set to the largest N)
#   SOAK_SECONDS=60 SOAK_CONNS=5000   soak (not part of all): its length and client connections
#   TO_THREAD_N=20000 TO_THREAD_C=64   to_thread: calls per run, callers at once in its second part
#   BENCH_RAW=file    also keep every round's figures there ("key value [round]" lines)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$(realpath -m "${BENCH_BUILD:-$root/build-bench}")  # absolute: Go wants GOPATH so
what=${1:-all}
rounds=${ROUNDS:-5}
idle_rounds=${IDLE_ROUNDS:-3}
idle_n=${IDLE_N:-1000000}
cpu=${BENCH_CPU:-$(($(nproc) - 1))}

case $what in
    switch | spawn | idle | timer | echo | dns | fetch | to_thread | all | soak) ;;
    *) echo "usage: $0 [switch|spawn|idle|timer|echo|dns|fetch|to_thread|all|soak]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*" >&2; }

# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# --- what is missing ----------------------------------------------------------
install_missing() {
    local need=()
    command -v meson >/dev/null || need+=(meson)
    command -v ninja >/dev/null || need+=(ninja-build)
    command -v c++ >/dev/null || need+=(g++)
    [ -f /usr/include/boost/context/fiber.hpp ] || need+=(libboost-context-dev)
    # The library, not the header: libboost1.74-dev ships boost/fiber/all.hpp,
    # libboost-fiber-dev the libboost_fiber that the peers link.
    dpkg-query -W -f='${Status}' libboost-fiber-dev 2>/dev/null | grep -q 'ok installed' || need+=(libboost-fiber-dev)
    command -v go >/dev/null || need+=(golang-go)
    command -v ip >/dev/null || need+=(iproute2)  # dns: loopback up in a namespace of its own
    /usr/bin/python3 -c 'import aiohttp' 2>/dev/null || need+=(python3-aiohttp)  # fetch: the asyncio lesson's client
    bench_install "${need[@]}"
}

# --- build ----------------------------------------------------------------------
install_missing
bench_configure
# Only bench/'s programs (and the library under them): a build dir that also
# has tests or demos configured need not build those.
mapfile -t targets < <(ninja -C "$build" -t targets all | awk -F: '/^bench\/[a-z_]+: / {print $1}')
ninja -C "$build" "${targets[@]}" >&2
bin=$build/bench

if command -v go >/dev/null; then
    # Go's caches go under the build dir: HOME may be read-only or absent.
    export GOCACHE=$build/go-cache GOPATH=$build/go-path GOFLAGS= GOTOOLCHAIN=local
    go build -o "$bin/go_peer" "$here/peers/go_peer.go" >&2 || { say "go build failed: Go peer skipped"; rm -f "$bin/go_peer"; }
    go build -o "$bin/go_echo_server" "$here/peers/echo_server.go" >&2 ||
        { say "go build failed: Go echo server skipped"; rm -f "$bin/go_echo_server"; }
    go build -o "$bin/dns_go" "$here/peers/dns_go.go" >&2 || { say "go build failed: Go dns peer skipped"; rm -f "$bin/dns_go"; }
    go build -o "$bin/sleep_server" "$here/peers/sleep_server.go" >&2 ||
        { say "go build failed: fetch's server missing"; rm -f "$bin/sleep_server"; }
    go build -o "$bin/fetch_go" "$here/peers/fetch_go.go" >&2 || { say "go build failed: Go fetch peer skipped"; rm -f "$bin/fetch_go"; }
    go build -o "$bin/to_thread_go" "$here/peers/to_thread_go.go" >&2 ||
        { say "go build failed: Go to_thread peer skipped"; rm -f "$bin/to_thread_go"; }
else
    say "go not found (apt-get install golang-go): Go peers skipped"
    rm -f "$bin/go_peer" "$bin/go_echo_server" "$bin/dns_go" "$bin/sleep_server" "$bin/fetch_go" "$bin/to_thread_go"
fi
if [ ! -x "$bin/boost_fiber_switch" ]; then
    say "*** Boost.Fiber is NOT built (apt-get install libboost-fiber-dev): switch, spawn and idle"
    say "*** lack their main peer, and their Boost.Fiber rows below are empty ***"
fi

pin=()
[ "$cpu" != none ] && command -v taskset >/dev/null && pin=(taskset -c "$cpu")

# --- rounds -------------------------------------------------------------------
results=$(mktemp)
trap 'if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi; rm -f "$results"' EXIT

# run_rounds N "prog args" ... : N rounds, each running every program once, in order.
# Every RESULT key=value line goes to $results; NOTE lines are shown once.
run_rounds() {
    local n=$1 r cmd out rc line notes
    shift
    local progs=("$@") argv
    declare -A noted=()
    for ((r = 1; r <= n; r++)); do
        printf '  round %d/%d:' "$r" "$n" >&2
        notes=""
        for cmd in "${progs[@]}"; do
            read -ra argv <<<"$cmd"
            [ -x "$bin/${argv[0]}" ] || continue
            printf ' [%s]' "$cmd" >&2
            rc=0
            out=$(GOMAXPROCS=1 timeout 300 "${pin[@]}" "$bin/${argv[0]}" "${argv[@]:1}") || rc=$?
            [ $rc = 0 ] || printf ' (exit %d)' "$rc" >&2
            awk -F'[ =]' '/^RESULT /{print $2, $3}' <<<"$out" >>"$results"
            while IFS= read -r line; do
                [ -n "${noted[$line]:-}" ] && continue
                noted[$line]=1
                notes+="    $line"$'\n'
            done < <(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$out" || true)
        done
        printf '\n%s' "$notes" >&2
    done
}

# median KEY: the median over rounds (empty when the key never showed up).
median() {
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
spread() {
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.10g..%.10g n=%d", v[1], v[NR], NR}'
}

# fmt V: two decimals below 100, one below 1000, none above.
fmt() { awk -v v="$1" 'BEGIN {printf (v == int(v) || v >= 1000 ? "%.0f" : v < 100 ? "%.2f" : "%.1f"), v}'; }

# row LABEL KEY [BASE_KEY]: one table line; with BASE_KEY, the ratio weft/this.
row() {
    local label=$1 key=$2 base=${3:-} m b ratio=""
    m=$(median "$key")
    m=${m:+$(fmt "$m")}
    if [ -z "$m" ]; then
        printf '  %-34s %12s\n' "$label" "skipped"
        return
    fi
    if [ -n "$base" ]; then
        b=$(median "$base")
        [ -n "$b" ] && ratio=$(awk -v a="$b" -v c="$(median "$key")" 'BEGIN {if (c > 0) printf "%.2fx", a / c}')
    fi
    printf '  %-34s %12s   %-24s %s\n' "$label" "$m" "[$(spread "$key")]" "$ratio"
}

# verdict TEXT EXPR: prints TEXT: met/missed; EXPR is awk over m(KEY).
verdict() {
    local text=$1 expr=$2 k v
    for k in $(grep -o 'm([a-z_]*)' <<<"$expr" | sed 's/m(\(.*\))/\1/' | sort -u); do
        v=$(median "$k")
        [ -z "$v" ] && { printf '  target %s: n/a (a figure is missing)\n' "$text"; return; }
        expr=${expr//m($k)/$v}
    done
    awk -v t="$text" "BEGIN {printf \"  target %s: %s\\n\", t, (($expr) ? \"MET\" : \"MISSED\")}"
}

header() {
    printf '\n%s\n' "$1"
    printf '  %-34s %12s   %-24s %s\n' "program" "median" "[min..max rounds]" "weft / this"
}

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

bench_timer() {
    say "timer: $rounds rounds, 10,000 sleepers"
    run_rounds "$rounds" "weft_timer"
    header "timer — microseconds a sleeper wakes after its deadline (lower is better)"
    row "weft fiber, median" weft_late_median_us
    row "weft fiber, p99" weft_late_p99_us
    row "thread sleep_until, median (floor)" thread_late_median_us weft_late_median_us
    row "thread sleep_until, p99" thread_late_p99_us weft_late_p99_us
    verdict "median wake-up within 1 ms" "m(weft_late_median_us) <= 1000"
}

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

# --- echo ---------------------------------------------------------------------
echo_rounds=${ECHO_ROUNDS:-5}
echo_seconds=${ECHO_SECONDS:-5}
echo_warmup=${ECHO_WARMUP:-1}
echo_conns=${ECHO_CONNS:-1000}
echo_stream_conns=${ECHO_STREAM_CONNS:-8}
echo_depth=${ECHO_DEPTH:-64}
echo_msg=${ECHO_MSG:-512}
spin=() lpin=()
if [ "$cpu" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    spin=(taskset -c "${ECHO_SERVER_CPU:-0}")
    lpin=(taskset -c "${ECHO_LOAD_CPU:-1}")
fi
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

# seconds_sum A B C: A + B + C rounded up to whole seconds (A and B may be fractions).
seconds_sum() { awk -v s="$1" -v t="$2" -v u="$3" 'BEGIN {v = s + t + u; printf "%d", v == int(v) ? v : int(v) + 1}'; }

# echo_run LABEL PROG MODE ROUND: starts the server PROG (usage: PROG PORT
# MAX_SECONDS; with port 0 it prints "PORT n") on the server CPU, runs
# echo_load against it on the other CPU, stops the server, and appends the
# load generator's RESULT lines to $results as "echo_MODE_LABEL_KEY VALUE ROUND".
echo_run() {
    local label=$1 prog=$2 mode=$3 round=$4 sout spid port="" i rc=0 out
    local load_args=(-c "$echo_conns" -d 1)
    [ "$mode" = stream ] && load_args=(-c "$echo_stream_conns" -d "$echo_depth")
    [ -x "$bin/$prog" ] || return 0
    printf ' [%s]' "$label" >&2
    sout=$(mktemp)
    # The server stops by itself after its MAX_SECONDS, should this script die.
    GOMAXPROCS=1 "${prio[@]}" "${spin[@]}" "$bin/$prog" 0 "$(seconds_sum "$echo_warmup" "$echo_seconds" 30)" >"$sout" &
    spid=$!
    for ((i = 0; i < 100; i++)); do
        port=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$port" ]; then
        out=$(timeout "$(seconds_sum "$echo_warmup" "$echo_seconds" 60)" "${prio[@]}" "${lpin[@]}" "$bin/echo_load" "$port" \
            "${load_args[@]}" -m "$echo_msg" -t "$echo_seconds" -w "$echo_warmup" -p "$spid") || rc=$?
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
    echo_row "$mode" weft "weft (fiber per connection)"
    echo_row "$mode" epoll "C epoll, edge-triggered"
    echo_row "$mode" go "Go (GOMAXPROCS=1)"
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
    [ -x "$bin/echo_load" ] || { say "echo: echo_load not built (no C compiler?); skipped"; return 0; }
    [ -x "$bin/weft_echo_server" ] || say "echo: weft_echo_server not built: weft is left out"
    say "echo: $echo_rounds rounds of ${echo_warmup}+${echo_seconds} s runs, server ${spin[*]:-unpinned}, load ${lpin[*]:-unpinned}, ulimit -n $(ulimit -n)${prio[*]:+, each in its own session}"
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

# --- dns ----------------------------------------------------------------------
dns_rounds=${DNS_ROUNDS:-5}
dns_n=${DNS_N:-10000}
dns_threads=${DNS_THREADS:-64}
dns_spin="" dns_cpin=""
if [ "$cpu" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    dns_spin="taskset -c ${DNS_SERVER_CPU:-0}"
    dns_cpin="taskset -c ${DNS_CLIENT_CPU:-1}"
fi
# Each in a session of its own, as in echo (autogroup: one session's share each).
command -v setsid >/dev/null && { dns_spin="setsid $dns_spin"; dns_cpin="setsid $dns_cpin"; }

# dns_inside LABEL RESOLV PORT SERVER_PIN CLIENT_PIN CLIENT ARGS...: with
# RESOLV (a file), first brings loopback up and mounts RESOLV over
# /etc/resolv.conf: meant for a network and mount namespace of its own. Then
# starts dns_bench_server on PORT (0: any) with SERVER_PIN's prefix, runs the
# client with CLIENT_PIN's, "@SERVER@" in ARGS becoming 127.0.0.1:port, stops
# the server and prints the client's output, and the server's query count and
# CPU time as RESULT LABEL_dns_server_queries and _cpu_ms. Standalone, so that unshare's bash can run it.
dns_inside() {
    local label=$1 resolv=$2 port=$3 spin=$4 cpin=$5 sout spid got="" i rc=0 a args=()
    shift 5
    if [ -n "$resolv" ]; then
        ip link set lo up && mount --bind "$resolv" /etc/resolv.conf || { echo "NOTE dns: namespace setup failed"; return 1; }
    fi
    sout=$(mktemp)
    # The server stops by itself after 120 s, should this shell die.
    $spin "${bin:?}/dns_bench_server" "$port" 120 >"$sout" &
    spid=$!
    for ((i = 0; i < 100; i++)); do
        got=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$got" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$got" ]; then
        for a in "$@"; do args+=("${a//@SERVER@/127.0.0.1:$got}"); done
        GOMAXPROCS=1 timeout 100 $cpin "${args[@]}" || rc=$?
        [ $rc = 0 ] || echo "NOTE dns: $label exited $rc"
    else
        echo "NOTE dns: the server did not start"
    fi
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    # In a namespace of its own the UDP counters are this run's alone: a
    # dropped datagram means a retry (c-ares, glibc and Go all wait seconds).
    [ -n "$resolv" ] && awk -v l="$label" '/^Udp:/ && $2 ~ /^[0-9]/ && $4 > 0 {
        print "NOTE dns: " l ": " $4 " UDP datagrams dropped (InErrors; RcvbufErrors " $6 ")"}' /proc/net/snmp
    awk -v k="${label}_dns_server_" '/^INFO queries /{print "RESULT " k "queries=" $3; print "RESULT " k "cpu_ms=" $7}' "$sout"
    rm -f "$sout"
}

# dns_run LABEL ROUND CLIENT ARGS...: one client against a fresh server, in a
# network namespace of its own when $dns_netns (port 53), else on loopback at
# any port; appends its RESULT lines to $results as "KEY VALUE ROUND", and
# its NOTE lines (and INFO with VERBOSE) to $dns_notes.
dns_run() {
    local label=$1 round=$2 out notes
    shift 2
    [ -x "$1" ] || return 0
    printf ' [%s]' "$label" >&2
    if [ "$dns_netns" = 1 ]; then
        out=$(timeout 150 unshare --mount --net -- bash -c "bin=\$1; shift; $(declare -f dns_inside); dns_inside \"\$@\"" \
            _ "$bin" "$label" "$dns_resolv" 53 "$dns_spin" "$dns_cpin" "$@") || true
    else
        out=$(dns_inside "$label" "" 0 "$dns_spin" "$dns_cpin" "$@") || true
    fi
    awk -v r="$round" -F'[ =]' '/^RESULT /{print $2, $3, r}' <<<"$out" >>"$results"
    printf 'dns_load1 %s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$round" >>"$results"
    notes=$(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$out" | sed 's/^/    /' || true)
    [ -z "$notes" ] || dns_notes+="$notes"$'\n'
}

# dns_row LABEL TEXT: wall and CPU time with spread and weft's ratio (of the
# medians, and paired by round), CPU per lookup, the user share, the queries
# the server got and its CPU time.
dns_row() {
    local k="$1_dns_" text=$2 w c u q
    w=$(median "${k}wall_ms")
    if [ -z "$w" ]; then
        printf '  %-30s %8s\n' "$text" "skipped"
        return
    fi
    c=$(median "${k}cpu_ms")
    u=$(median "${k}user_ms")
    q=$(median "$1_dns_server_queries")
    printf '  %-30s %8s %-17s %5s %5s  %8s %-17s %5s %5s  %6s  %4s  %6s %6s\n' "$text" \
        "$(fmt "$w")" "$(range "${k}wall_ms")" "$(ratio weft_dns_wall_ms "${k}wall_ms")" \
        "$(paired weft_dns_wall_ms "${k}wall_ms")" \
        "$(fmt "$c")" "$(range "${k}cpu_ms")" "$(ratio weft_dns_cpu_ms "${k}cpu_ms")" \
        "$(paired weft_dns_cpu_ms "${k}cpu_ms")" \
        "$(awk -v c="$c" -v n="$dns_n" 'BEGIN {printf "%.1f", c * 1000 / n}')" \
        "$(awk -v u="$u" -v c="$c" 'BEGIN {if (c > 0) printf "%.0f%%", u * 100 / c}')" "${q:-?}" \
        "$(s=$(median "$1_dns_server_cpu_ms"); [ -n "$s" ] && fmt "$s")"
}

bench_dns() {
    local r where
    ulimit -n 20000 2>/dev/null || ulimit -n 16384 2>/dev/null || true  # Go: a socket per lookup in flight
    [ -x "$bin/dns_bench_server" ] || { say "dns: dns_bench_server not built; skipped"; return 0; }
    # glibc asks resolv.conf's servers on port 53 only: every client runs in a
    # network and mount namespace of its own (loopback only, resolv.conf naming
    # 127.0.0.1) with the server on port 53, so all three ask the same server
    # the same way. Without namespaces (not root), weft and Go ask it at any port.
    dns_netns=0
    if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
        unshare --mount --net -- true 2>/dev/null; then
        dns_netns=1
        dns_resolv=$(mktemp)
        printf 'nameserver 127.0.0.1\n' >"$dns_resolv"
        where="in a network namespace each, server on 127.0.0.1:53"
    else
        where="server on 127.0.0.1 at any port (no network namespace: needs root, unshare and ip)"
        say "dns: cannot make a network namespace: the glibc getaddrinfo peer is skipped"
    fi
    say "dns: $dns_rounds rounds of $dns_n lookups, $where, server ${dns_spin:-unpinned}, client ${dns_cpin:-unpinned}"
    for ((r = 1; r <= dns_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$dns_rounds" >&2
        dns_notes=""
        dns_run weft "$r" "$bin/weft_dns" @SERVER@ "$dns_n"
        dns_run go "$r" "$bin/dns_go" @SERVER@ "$dns_n"
        [ "$dns_netns" = 1 ] && dns_run glibc "$r" "$bin/dns_getaddrinfo" "$dns_n" "$dns_threads"
        printf '\n%s' "$dns_notes" >&2
    done
    [ "$dns_netns" = 1 ] && rm -f "$dns_resolv"
    printf '\ndns — %s lookups of distinct names (A records) against one server on loopback, all at once\n' "$dns_n"
    printf '  wall and the client'"'"'s CPU time (user + sys, every thread), ms, lower is better;\n'
    printf '  weft/this: ratio of the medians; pair: median of the ratios within a round (the steadier one);\n'
    printf '  user: the user-space share of the client'"'"'s CPU; server: queries it got and its CPU time\n'
    printf '  %-30s %8s %-17s %5s %5s  %8s %-17s %5s %5s  %6s  %4s  %6s %6s\n' "client" "wall ms" "[min..max]" \
        "weft/" "" "CPU ms" "[min..max]" "weft/" "" "CPU us" "user" "server" "server"
    printf '  %-30s %8s %-17s %5s %5s  %8s %-17s %5s %5s  %6s  %4s  %6s %6s\n' "" "median" "" "this" "pair" \
        "median" "" "this" "pair" "/ look" "" "asked" "CPU ms"
    dns_row weft "weft (a fiber per lookup)"
    dns_row go "Go (goroutine each, PreferGo)"
    dns_row glibc "glibc getaddrinfo, $dns_threads threads"
    verdict "dns: weft's wall time below Go's" "m(weft_dns_wall_ms) < m(go_dns_wall_ms)"
    verdict "dns: weft's wall time below glibc's" "m(weft_dns_wall_ms) < m(glibc_dns_wall_ms)"
    verdict "dns: weft's CPU time below Go's" "m(weft_dns_cpu_ms) < m(go_dns_cpu_ms)"
    verdict "dns: weft's CPU time below glibc's" "m(weft_dns_cpu_ms) < m(glibc_dns_cpu_ms)"
    printf '  load average (1 min) after each run: %s\n' "$(spread dns_load1)"
}

# --- fetch --------------------------------------------------------------------
fetch_rounds=${FETCH_ROUNDS:-3}
fetch_ns=${FETCH_N:-5 1000 10000}
fetch_spin="" fetch_cpin=""
if [ "$cpu" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    fetch_spin="taskset -c ${FETCH_SERVER_CPU:-0}"
    fetch_cpin="taskset -c ${FETCH_CLIENT_CPU:-1}"
fi
# Each in a session of its own, as in echo (autogroup: one session's share each).
command -v setsid >/dev/null && { fetch_spin="setsid $fetch_spin"; fetch_cpin="setsid $fetch_cpin"; }
# The clients, in the order each round runs them: label and command. The
# last is the floor: a hand-written C epoll client, the kernel's share alone.
fetch_clients=("weft $bin/weft_fetch_many" "aiohttp /usr/bin/python3 $here/peers/fetch_aiohttp.py" "go $bin/fetch_go"
    "epoll $bin/fetch_epoll")

# listen_drops: the count of connections dropped at a full listen queue
# (TcpExt ListenDrops, which includes ListenOverflows) in this network
# namespace; a dropped SYN costs the client a 1 s retransmission.
listen_drops() { awk '/^TcpExt:/ {if (!h) {for (i = 1; i <= NF; i++) f[$i] = i; h = 1} else print $f["ListenDrops"]}' /proc/net/netstat; }

# fetch_inside LABEL N BACKLOG SERVER_PIN CLIENT_PIN CLIENT ARGS...: with
# BACKLOG, first brings loopback up and sets net.core.somaxconn and
# tcp_max_syn_backlog to it: meant for a network namespace of its own. Then
# starts a fresh sleep_server with SERVER_PIN's prefix, runs the client (ARGS,
# URL, N) with CLIENT_PIN's, stops the server and prints the client's output
# and the server's figures (its CPU time; how long after the first request the
# last one came in and the last answer went out) as RESULT server_* lines.
# Standalone, so that unshare's bash can run it.
fetch_inside() {
    local label=$1 n=$2 backlog=$3 spin=$4 cpin=$5 sout spid port="" i rc=0 d0 d1
    shift 5
    if [ -n "$backlog" ]; then
        ip link set lo up && sysctl -qw net.core.somaxconn="$backlog" net.ipv4.tcp_max_syn_backlog="$backlog" ||
            { echo "NOTE fetch: namespace setup failed"; return 1; }
    fi
    sout=$(mktemp)
    # The server stops by itself after 200 s, should this shell die.
    GOMAXPROCS=1 $spin "${bin:?}/sleep_server" 0 200 >"$sout" &
    spid=$!
    for ((i = 0; i < 100; i++)); do
        port=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$port" ]; then
        d0=$(listen_drops)
        GOMAXPROCS=1 timeout 150 $cpin "$@" "http://127.0.0.1:$port/" "$n" || rc=$?
        d1=$(listen_drops)
        [ $rc = 0 ] || echo "NOTE fetch: $label N=$n: the client exited $rc"
        if ((d1 > d0)); then
            echo "NOTE fetch: $label N=$n: $((d1 - d0)) connections dropped at a full listen queue (SYN retries)"
        fi
    else
        echo "NOTE fetch: the server did not start"
    fi
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    awk '/^INFO requests /{print "RESULT server_requests=" $3; print "RESULT server_cpu_ms=" $5;
        print "RESULT server_in_ms=" $7; print "RESULT server_out_ms=" $9}' "$sout"
    rm -f "$sout"
}

# fetch_run LABEL N ROUND CLIENT ARGS...: one client against a fresh server,
# in a network namespace of its own when $fetch_netns; appends its RESULT
# lines to $results as "fetch_N_LABEL_KEY VALUE ROUND", and its NOTE lines (and
# INFO with VERBOSE) to $fetch_notes.
fetch_run() {
    local label=$1 n=$2 round=$3 out notes
    shift 3
    [ -x "$1" ] || return 0
    printf ' [%s]' "$label" >&2
    if [ "$fetch_netns" = 1 ]; then
        out=$(timeout 220 unshare --net -- bash -c "bin=\$1; shift; $(declare -f fetch_inside listen_drops); fetch_inside \"\$@\"" \
            _ "$bin" "$label" "$n" "$fetch_backlog" "$fetch_spin" "$fetch_cpin" "$@") || true
    else
        out=$(fetch_inside "$label" "$n" "" "$fetch_spin" "$fetch_cpin" "$@") || true
    fi
    awk -v p="fetch_${n}_${label}_" -v r="$round" -F'[ =]' '/^RESULT /{print p $2, $3, r}' <<<"$out" >>"$results"
    printf 'fetch_load1 %s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$round" >>"$results"
    notes=$(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$out" | sed 's/^/    /' || true)
    [ -z "$notes" ] || fetch_notes+="$notes"$'\n'
}

# fetch_row N LABEL TEXT: wall and client CPU time with spread and weft's
# ratio (of the medians, and paired by round), the client's user share, and
# the server's CPU time and intake spread.
fetch_row() {
    local k="fetch_$1_$2_" w="fetch_$1_weft_" wall c u
    wall=$(median "${k}wall_ms")
    if [ -z "$wall" ]; then
        printf '  %-22s %8s\n' "$3" "skipped"
        return
    fi
    c=$(median "${k}cpu_ms")
    u=$(median "${k}user_ms")
    printf '  %-22s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s %7s\n' "$3" \
        "$(fmt "$wall")" "$(range "${k}wall_ms")" "$(ratio "${w}wall_ms" "${k}wall_ms")" \
        "$(paired "${w}wall_ms" "${k}wall_ms")" \
        "$(fmt "$c")" "$(range "${k}cpu_ms")" "$(ratio "${w}cpu_ms" "${k}cpu_ms")" \
        "$(paired "${w}cpu_ms" "${k}cpu_ms")" \
        "$(awk -v u="$u" -v c="$c" 'BEGIN {if (c > 0) printf "%.0f%%", u * 100 / c}')" \
        "$(s=$(median "${k}server_cpu_ms"); [ -n "$s" ] && fmt "$s")" \
        "$(s=$(median "${k}server_in_ms"); [ -n "$s" ] && fmt "$s")"
}

# fetch_verdict TEXT A OP FACTOR B: "A OP FACTOR * B" on the medians of keys
# A and B (B may be a number). verdict's keys cannot hold the digits of N.
fetch_verdict() {
    local a b=$5
    a=$(median "$2")
    [[ $b =~ ^[0-9.]+$ ]] || b=$(median "$5")
    if [ -z "$a" ] || [ -z "$b" ]; then
        printf '  target %s: n/a (a figure is missing)\n' "$1"
        return
    fi
    awk -v t="$1" -v a="$a" -v b="$b" -v f="$4" -v op="$3" \
        'BEGIN {ok = op == "<=" ? a <= f * b : a >= f * b; printf "  target %s: %s (%.3g vs %.3g)\n", t, ok ? "MET" : "MISSED", a, f * b}'
}

bench_fetch() {
    local r n c lbl cmd max=0 ns=()
    ulimit -n 20000 2>/dev/null || ulimit -n 16384 2>/dev/null || ulimit -n 8192 2>/dev/null || true
    [ -x "$bin/sleep_server" ] || { say "fetch: sleep_server not built (Go missing?); skipped"; return 0; }
    /usr/bin/python3 -c 'import aiohttp' 2>/dev/null || say "fetch: /usr/bin/python3 cannot import aiohttp: its peer is skipped"
    for n in $fetch_ns; do
        if [ "$(ulimit -n)" != unlimited ] && ((n + 64 > $(ulimit -n))); then
            say "fetch: N=$n needs more than ulimit -n = $(ulimit -n) descriptors; skipped"
            continue
        fi
        ns+=("$n")
        ((n > max)) && max=$n
    done
    ((${#ns[@]})) || return 0
    # A burst of N connects overflows a listen queue shorter than N whenever
    # the server falls behind, and each dropped SYN costs its client a 1 s
    # retry; the box-wide drop counter also counts other programs' drops. Go's listener takes
    # net.core.somaxconn as its backlog. As root, every run gets a network
    # namespace of its own (unshare --net, loopback only) whose somaxconn and
    # SYN queue are set to the largest N (at least 4096), and whose drop count
    # is that run's alone; the box's settings are left alone.
    local where
    fetch_netns=0 fetch_backlog=$((max > 4096 ? max : 4096))
    if [ "${FETCH_NETNS:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
        command -v ip >/dev/null && unshare --net -- true 2>/dev/null; then
        fetch_netns=1
        where="each run in a network namespace of its own (somaxconn $fetch_backlog)"
    else
        where="in this network namespace (somaxconn $(cat /proc/sys/net/core/somaxconn); drops counted box-wide)"
        if (($(cat /proc/sys/net/core/somaxconn) < max)); then
            say "fetch: net.core.somaxconn is $(cat /proc/sys/net/core/somaxconn), below N=$max: a burst may overflow the" \
                "server's listen queue (each drop costs a 1 s SYN retry; run.sh says so when it happens)"
        fi
    fi
    say "fetch: $fetch_rounds rounds, N = ${ns[*]}, a fresh Go sleep server for every run, $where, server ${fetch_spin:-unpinned}, client ${fetch_cpin:-unpinned}, ulimit -n $(ulimit -n)"
    for ((r = 1; r <= fetch_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$fetch_rounds" >&2
        fetch_notes=""
        for n in "${ns[@]}"; do
            printf ' N=%s' "$n" >&2
            for c in "${fetch_clients[@]}"; do
                read -r lbl cmd <<<"$c"
                [ "$lbl" = aiohttp ] && ! /usr/bin/python3 -c 'import aiohttp' 2>/dev/null && continue
                read -ra cmd <<<"$cmd"
                fetch_run "$lbl" "$n" "$r" "${cmd[@]}"
            done
        done
        printf '\n%s' "$fetch_notes" >&2
    done
    printf '\nfetch — N concurrent GETs to one Go net/http server on loopback whose handler sleeps 1 s\n'
    printf '  wall and the client'"'"'s CPU time (user + sys, every thread), ms, lower is better; the floor for wall is 1000;\n'
    printf '  weft/this: ratio of the medians; pair: median of the ratios within a round;\n'
    printf '  user: the user-space share of the client'"'"'s CPU; server: its CPU ms, and how long after the\n'
    printf '  first request the last one reached its handler (intake)\n'
    for n in "${ns[@]}"; do
        printf ' N = %s\n' "$n"
        printf '  %-22s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s %7s\n' "client" "wall ms" "[min..max]" \
            "weft/" "" "CPU ms" "[min..max]" "weft/" "" "user" "server" "server"
        printf '  %-22s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s %7s\n' "" "median" "" "this" "pair" \
            "median" "" "this" "pair" "" "CPU ms" "intake"
        fetch_row "$n" weft "weft (fiber per GET)"
        fetch_row "$n" aiohttp "asyncio + aiohttp"
        fetch_row "$n" go "Go net/http"
        fetch_row "$n" epoll "C epoll client (floor)"
    done
    fetch_verdict "fetch N=$max: weft's wall within 10% of 1 s" "fetch_${max}_weft_wall_ms" "<=" 1.1 1000
    fetch_verdict "fetch N=$max: weft's CPU <= aiohttp's / 5" "fetch_${max}_weft_cpu_ms" "<=" 0.2 "fetch_${max}_aiohttp_cpu_ms"
    fetch_verdict "fetch N=$max: weft's CPU <= Go's / 2" "fetch_${max}_weft_cpu_ms" "<=" 0.5 "fetch_${max}_go_cpu_ms"
    printf '  load average (1 min) after each run: %s\n' "$(spread fetch_load1)"
}

# --- soak ---------------------------------------------------------------------
# Not a comparison (no peers) but a pass/fail hardening check: weft_soak churns
# SOAK_CONNS connections for SOAK_SECONDS, prints a line a second and its
# verdict; run.sh exits non-zero when the verdict is FAIL. Not part of `all`.
bench_soak() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # two descriptors a connection; weft_soak says if it must use fewer
    [ -x "$bin/weft_soak" ] || { say "soak: weft_soak not built"; return 1; }
    say "soak: ${SOAK_SECONDS:-60} s, ${SOAK_CONNS:-5000} connections, ${pin[*]:-unpinned}, ulimit -n $(ulimit -n)"
    "${pin[@]}" "$bin/weft_soak" "${SOAK_SECONDS:-60}" "${SOAK_CONNS:-5000}"
}

printf "machine: %s\n" "$(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); pinned: ${pin[*]:-no}"
# timed NAME: runs bench_NAME and says how long it took and how busy the box was.
# to_thread: a round trip from a fiber to a worker thread and back, beside
# asyncio.to_thread and Go's two ways of the same (bench/peers/to_thread_go.go).
# Not pinned to one CPU: the pools' threads are the point.
bench_to_thread() {
    local n=${TO_THREAD_N:-20000} c=${TO_THREAD_C:-64}
    local pin=()  # run_rounds reads this one
    say "to_thread: $rounds rounds, $n calls each way"
    ln -sf "$here/peers/to_thread_asyncio.py" "$bin/to_thread_asyncio"  # run_rounds runs what is in $bin
    run_rounds "$rounds" "weft_to_thread $n $c" "to_thread_asyncio $n $c" "to_thread_go $n $c"
    header "to_thread — ns per round trip to a worker thread and back (lower is better)"
    printf '  one caller, one call after another (latency)\n'
    row "weft to_thread" weft_to_thread_one_ns weft_to_thread_one_ns
    row "asyncio.to_thread" asyncio_to_thread_one_ns weft_to_thread_one_ns
    row "Go, locked-thread pool + channels" go_thread_one_ns weft_to_thread_one_ns
    row "Go, goroutine blocked in read(2)" go_syscall_one_ns weft_to_thread_one_ns
    printf '  %s callers at once (throughput)\n' "$c"
    row "weft to_thread" weft_to_thread_many_ns weft_to_thread_many_ns
    row "asyncio.to_thread" asyncio_to_thread_many_ns weft_to_thread_many_ns
    row "Go, locked-thread pool + channels" go_thread_many_ns weft_to_thread_many_ns
    row "Go, goroutine blocked in read(2)" go_syscall_many_ns weft_to_thread_many_ns
    verdict "weft ahead of asyncio, one caller" "m(weft_to_thread_one_ns) < m(asyncio_to_thread_one_ns)"
    verdict "weft ahead of asyncio, many callers" "m(weft_to_thread_many_ns) < m(asyncio_to_thread_many_ns)"
}

timed() {
    local t0=$SECONDS load0
    load0=$(cut -d' ' -f1 /proc/loadavg)
    "bench_$1"
    printf '  (%s: %d s; load average %s at the start, %s at the end)\n' "$1" $((SECONDS - t0)) \
        "$load0" "$(cut -d' ' -f1 /proc/loadavg)"
}

case $what in
    all) timed switch; timed spawn; timed idle; timed timer; timed echo; timed dns; timed fetch; timed to_thread ;;
    *) timed "$what" ;;
esac
