#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/dns.sh — 10,000 lookups at once: weft beside Go's resolver and a glibc getaddrinfo thread pool.
# Then the burst (issue 12): 20,000 at once against dnsmasq, lookups lost and wall time.
#
# One DNS server (dns_bench_server, then dnsmasq) on loopback, every client in a
# network and mount namespace of its own when root; wall and CPU time, medians
# over rounds.
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
#   DNS_BURST_N=20000 lookups per burst run, against dnsmasq (0: no burst)
#   DNS_BURST_ROUNDS=3   rounds of the burst (each runs weft, Go and glibc once)
#   DNS_BURST_TIMEOUT=10 each client's budget per lookup, seconds (weft's
#                     options::timeout, Go's context; glibc has resolv.conf's 2 x 5 s)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

dns_missing() {
    go_missing
    command -v ip >/dev/null || echo iproute2  # loopback up in a namespace of its own
    [ -x /usr/sbin/dnsmasq ] || echo dnsmasq-base  # the burst's server (the binary, no service)
}
dns_targets=(weft_dns dns_bench_server dns_getaddrinfo)
dns_go=(dns_go:dns_go.go)

dns_rounds=${DNS_ROUNDS:-5}
dns_n=${DNS_N:-10000}
dns_threads=${DNS_THREADS:-64}
dns_burst_n=${DNS_BURST_N:-20000}
dns_burst_rounds=${DNS_BURST_ROUNDS:-3}
dns_burst_timeout=${DNS_BURST_TIMEOUT:-10}
dns_spin="" dns_cpin=""
if [ "$cpu" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    dns_spin="taskset -c ${DNS_SERVER_CPU:-0}"
    dns_cpin="taskset -c ${DNS_CLIENT_CPU:-1}"
fi
# Each in a session of its own, as in echo (autogroup: one session's share each).
command -v setsid >/dev/null && { dns_spin="setsid $dns_spin"; dns_cpin="setsid $dns_cpin"; }

# dns_inside LABEL RESOLV PORT SERVER_PIN CLIENT_PIN SERVER CLIENT ARGS...:
# with RESOLV (a file), first brings loopback up and mounts RESOLV over
# /etc/resolv.conf: meant for a network and mount namespace of its own. Then
# starts SERVER (bench: dns_bench_server; dnsmasq: Debian's, answering every
# name under bench. with 192.0.2.1 from its own table) on PORT (0: any) with
# SERVER_PIN's prefix, runs the client with CLIENT_PIN's, "@SERVER@" in ARGS
# becoming 127.0.0.1:port, stops the server and prints the client's output,
# and the server's query count and CPU time as RESULT
# LABEL_dns_server_queries and _cpu_ms. Standalone, so that unshare's bash can run it.
dns_inside() {
    local label=$1 resolv=$2 port=$3 spin=$4 cpin=$5 server=$6 sout spid="" got="" i p try rc=0 a args=()
    shift 6
    if [ -n "$resolv" ]; then
        ip link set lo up && mount --bind "$resolv" /etc/resolv.conf || { echo "NOTE dns: namespace setup failed"; return 1; }
    fi
    sout=$(mktemp)
    if [ "$server" = dnsmasq ]; then
        # --no-daemon: the foreground, no pid file, no change of user; its log
        # (and the statistics SIGUSR1 asks for) to stderr. Port 0: a random
        # one, another if it is taken.
        for ((try = 0; try < 5; try++)); do
            p=$port
            [ "$p" = 0 ] && p=$((20000 + RANDOM % 40000))
            $spin /usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --port="$p" \
                --listen-address=127.0.0.1 --bind-interfaces --address=/bench/192.0.2.1 --log-facility=- >"$sout" 2>&1 &
            spid=$!
            for ((i = 0; i < 100; i++)); do
                grep -q 'started, version' "$sout" && { got=$p; break; }
                kill -0 "$spid" 2>/dev/null || break
                sleep 0.05
            done
            [ -n "$got" ] && break
            kill "$spid" 2>/dev/null || true
            wait "$spid" 2>/dev/null || true
        done
    else
        # The server stops by itself after 120 s, should this shell die.
        $spin "${bin:?}/dns_bench_server" "$port" 120 >"$sout" &
        spid=$!
        for ((i = 0; i < 100; i++)); do
            got=$(awk '/^PORT /{print $2; exit}' "$sout")
            [ -n "$got" ] && break
            kill -0 "$spid" 2>/dev/null || break
            sleep 0.05
        done
    fi
    if [ -n "$got" ]; then
        for a in "$@"; do args+=("${a//@SERVER@/127.0.0.1:$got}"); done
        GOMAXPROCS=1 timeout 100 $cpin "${args[@]}" || rc=$?
        [ $rc = 0 ] || echo "NOTE dns: $label exited $rc"
    else
        echo "NOTE dns: the server ($server) did not start: $(tail -1 "$sout")"
    fi
    if [ -n "$got" ] && [ "$server" = dnsmasq ]; then
        # dnsmasq's CPU time (utime + stime, clock ticks) and its count of
        # queries answered, before it goes.
        awk -v t="$(getconf CLK_TCK)" '{printf "INFO queries - cpu_ms %.1f\n", ($14 + $15) * 1000 / t}' \
            "/proc/$spid/stat" >>"$sout.cpu" 2>/dev/null || true
        kill -USR1 "$spid" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do grep -q 'queries answered locally' "$sout" && break; sleep 0.05; done
        awk -v c="$(awk '{print $5}' "$sout.cpu" 2>/dev/null)" '/queries answered locally/ {
            n = $NF} END {if (n != "") print "INFO queries " n " (tcp -) cpu_ms " c}' "$sout" >"$sout.stats"
        mv "$sout.stats" "$sout"
        rm -f "$sout.cpu"
    fi
    if [ -n "$spid" ]; then
        kill "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
    fi
    # In a namespace of its own the UDP counters are this run's alone: a
    # dropped datagram means a retry (c-ares, glibc and Go all wait seconds).
    [ -n "$resolv" ] && awk -v l="$label" '/^Udp:/ && $2 ~ /^[0-9]/ && $4 > 0 {
        print "NOTE dns: " l ": " $4 " UDP datagrams dropped (InErrors; RcvbufErrors " $6 ")"}' /proc/net/snmp
    awk -v k="${label}_dns_server_" '/^INFO queries /{print "RESULT " k "queries=" $3; print "RESULT " k "cpu_ms=" $7}' "$sout"
    rm -f "$sout"
}

# dns_run LABEL ROUND CLIENT ARGS...: one client against a fresh server
# ($dns_server: bench or dnsmasq), in a network namespace of its own when
# $dns_netns (port 53), else on loopback at any port; appends its RESULT
# lines to $results as "KEY VALUE ROUND", each KEY after $dns_prefix, and its
# NOTE lines (and INFO with VERBOSE) to $dns_notes.
dns_server=bench dns_prefix=""
dns_run() {
    local label=$1 round=$2 out notes
    shift 2
    [ -x "$1" ] || return 0
    printf ' [%s]' "$label" >&2
    if [ "$dns_netns" = 1 ]; then
        out=$(timeout 150 unshare --mount --net -- bash -c "bin=\$1; shift; $(declare -f dns_inside); dns_inside \"\$@\"" \
            _ "$bin" "$label" "$dns_resolv" 53 "$dns_spin" "$dns_cpin" "$dns_server" "$@") || true
    else
        out=$(dns_inside "$label" "" 0 "$dns_spin" "$dns_cpin" "$dns_server" "$@") || true
    fi
    awk -v r="$round" -v p="$dns_prefix" -F'[ =]' '/^RESULT /{print p $2, $3, r}' <<<"$out" >>"$results"
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

# dns_max KEY: the largest figure of KEY over the rounds.
dns_max() { awk -v k="$1" '$1 == k && (m == "" || $2 > m) {m = $2} END {if (m != "") print m}' "$results"; }

# dns_burst_row LABEL TEXT: the burst's wall time (spread, weft's ratios),
# the lookups lost (median, the most in a round), the client's CPU time, and
# what dnsmasq answered and its CPU time.
dns_burst_row() {
    local k="burst_$1_dns_" text=$2 w
    w=$(median "${k}wall_ms")
    if [ -z "$w" ]; then
        printf '  %-30s %8s\n' "$text" "skipped"
        return
    fi
    printf '  %-30s %8s %-17s %5s %5s  %6s %6s  %8s  %7s %6s\n' "$text" \
        "$(fmt "$w")" "$(range "${k}wall_ms")" "$(ratio burst_weft_dns_wall_ms "${k}wall_ms")" \
        "$(paired burst_weft_dns_wall_ms "${k}wall_ms")" "$(median "${k}failed")" "$(dns_max "${k}failed")" \
        "$(fmt "$(median "${k}cpu_ms")")" "$(median "burst_$1_dns_server_queries")" \
        "$(s=$(median "burst_$1_dns_server_cpu_ms"); [ -n "$s" ] && fmt "$s")"
}

# dns_burst WHERE: issue 12's burst, DNS_BURST_N names at once against
# dnsmasq (a real server, single-threaded, its socket Linux's default
# 212,992 bytes), each client with a budget of DNS_BURST_TIMEOUT s.
dns_burst() {
    local r
    ((dns_burst_n > 0)) || return 0
    if [ ! -x /usr/sbin/dnsmasq ]; then
        say "dns burst: dnsmasq is not installed (apt-get install dnsmasq-base); skipped"
        return 0
    fi
    say "dns burst: $dns_burst_rounds rounds of $dns_burst_n lookups against dnsmasq, $dns_burst_timeout s each, $1"
    dns_server=dnsmasq dns_prefix=burst_
    for ((r = 1; r <= dns_burst_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$dns_burst_rounds" >&2
        dns_notes=""
        dns_run weft "$r" "$bin/weft_dns" @SERVER@ "$dns_burst_n" "$dns_burst_timeout"
        dns_run go "$r" "$bin/dns_go" @SERVER@ "$dns_burst_n" "$dns_burst_timeout"
        [ "$dns_netns" = 1 ] && dns_run glibc "$r" "$bin/dns_getaddrinfo" "$dns_burst_n" "$dns_threads"
        printf '\n%s' "$dns_notes" >&2
    done
    dns_server=bench dns_prefix=""
    printf '\ndns burst — %s lookups of distinct names (A) at once against dnsmasq on loopback, %s s budget\n' \
        "$dns_burst_n" "$dns_burst_timeout"
    printf '  wall ms, lower is better; weft/this: ratio of the medians, pair: median of the ratios in a round;\n'
    printf '  lost: lookups that failed (median, most in a round); dnsmasq: queries it answered, its CPU ms\n'
    printf '  %-30s %8s %-17s %5s %5s  %6s %6s  %8s  %7s %6s\n' "client" "wall ms" "[min..max]" "weft/" "" "lost" \
        "lost" "CPU ms" "dnsmasq" "dnsmasq"
    printf '  %-30s %8s %-17s %5s %5s  %6s %6s  %8s  %7s %6s\n' "" "median" "" "this" "pair" "median" "most" \
        "median" "answered" "CPU ms"
    dns_burst_row weft "weft (a fiber per lookup)"
    dns_burst_row go "Go (goroutine each, PreferGo)"
    dns_burst_row glibc "glibc getaddrinfo, $dns_threads threads"
    local lost
    lost=$(dns_max burst_weft_dns_failed)
    [ -n "$lost" ] && printf '  target dns burst: no lookup of weft'"'"'s lost in any round: %s\n' \
        "$(awk -v l="$lost" 'BEGIN {print (l == 0 ? "MET" : "MISSED")}')"
}

bench_dns() {
    local r where
    # Go: a socket per lookup in flight (20,000 in the burst).
    ulimit -n 65536 2>/dev/null || ulimit -n 20000 2>/dev/null || ulimit -n 16384 2>/dev/null || true
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
    dns_burst "$where"
    [ "$dns_netns" = 1 ] && rm -f "$dns_resolv"
    return 0
}

if bench_executed; then bench_main dns; fi
