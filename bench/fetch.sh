#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/fetch.sh — N concurrent GETs to a Go server whose handler sleeps 1 s: weft beside asyncio + aiohttp, Go net/http and a C epoll client.
#
# A fresh Go sleep server for every run, each run in a network namespace of its
# own when root; wall and the client's CPU time, medians over rounds.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   FETCH_ROUNDS=3    rounds (each runs weft, aiohttp, Go and the C floor once per N)
#   FETCH_N="5 1000 10000"  concurrent GETs per run, one list entry after the other
#   FETCH_CLIENTS="weft aiohttp go epoll epoll_again"  the clients run (a subset for a
#                     quicker comparison: "weft epoll" for the C floor alone; epoll_again
#                     is the floor with weft's second connect(), fetch_epoll --ask-again)
#   FETCH_SERVER_CPU=0 FETCH_CLIENT_CPU=1   where the Go sleep server and the client run
#                     (not pinned with BENCH_CPU=none or on one CPU)
#   FETCH_NETNS=0     run fetch in this network namespace (default, as root: each run in
#                     one of its own, somaxconn and the SYN queue set to the largest N)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

fetch_missing() {
    go_missing
    command -v ip >/dev/null || echo iproute2  # loopback up in a namespace of its own
    /usr/bin/python3 -c 'import aiohttp' 2>/dev/null || echo python3-aiohttp  # the asyncio lesson's client
}
fetch_targets=(weft_fetch_many fetch_epoll)
fetch_go=(sleep_server:sleep_server.go fetch_go:fetch_go.go)

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
# last two are the floor: a hand-written C epoll client, the kernel's share alone
# (and the same with weft's second connect(), --ask-again).
fetch_clients=("weft $bin/weft_fetch_many" "aiohttp /usr/bin/python3 $here/peers/fetch_aiohttp.py" "go $bin/fetch_go"
    "epoll $bin/fetch_epoll" "epoll_again $bin/fetch_epoll --ask-again")

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
                [[ " ${FETCH_CLIENTS:-$lbl} " == *" $lbl "* ]] || continue
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
        fetch_row "$n" epoll_again "C epoll, connect again"
    done
    fetch_verdict "fetch N=$max: weft's wall within 10% of 1 s" "fetch_${max}_weft_wall_ms" "<=" 1.1 1000
    fetch_verdict "fetch N=$max: weft's CPU <= aiohttp's / 5" "fetch_${max}_weft_cpu_ms" "<=" 0.2 "fetch_${max}_aiohttp_cpu_ms"
    fetch_verdict "fetch N=$max: weft's CPU <= Go's / 2" "fetch_${max}_weft_cpu_ms" "<=" 0.5 "fetch_${max}_go_cpu_ms"
    fetch_verdict "fetch N=$max: weft's CPU <= 1.15x the C epoll client's (issue 15)" "fetch_${max}_weft_cpu_ms" "<=" 1.15 "fetch_${max}_epoll_cpu_ms"
    fetch_verdict "fetch N=$max: the same against the floor with weft's second connect()" "fetch_${max}_weft_cpu_ms" "<=" 1.15 "fetch_${max}_epoll_again_cpu_ms"
    printf '  load average (1 min) after each run: %s\n' "$(spread fetch_load1)"
}

if bench_executed; then bench_main fetch; fi
