#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/dns.sh — 10,000 lookups at once: weft beside Go's resolver and a glibc getaddrinfo thread pool.
#
# One DNS server (dns_bench_server) on loopback, every client in a network and
# mount namespace of its own when root; wall and CPU time, medians over rounds.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   DNS_ROUNDS=5      rounds (each runs weft, Go and glibc once)
#   DNS_N=10000       lookups per run (distinct names)
#   DNS_THREADS=64    threads of the glibc getaddrinfo pool
#   DNS_SERVER_CPU=0 DNS_CLIENT_CPU=1   where the DNS server and the client run
#                     (not pinned with BENCH_CPU=none or on one CPU)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

dns_missing() {
    go_missing
    command -v ip >/dev/null || echo iproute2  # loopback up in a namespace of its own
}
dns_targets=(weft_dns dns_bench_server dns_getaddrinfo)
dns_go=(dns_go:dns_go.go)

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

if bench_executed; then bench_main dns; fi
