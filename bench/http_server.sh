#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/http_server.sh — hello world over keep-alive under wrk: weft's
# http::server beside nginx and Go net/http (issues 14 and 15).
#
# Every server answers every request "Hello, world!" (13 bytes, text/plain):
# weft_http_server (bench/weft_http_server.cpp), nginx with a configuration
# made for the run (worker_processes N, `return 200 "Hello, world!"`,
# access_log off, keepalive_requests raised so that it, like the others, never
# closes a kept-alive connection in a run), and Go net/http
# (bench/peers/http_server_go.go, GOMAXPROCS=N). wrk (Debian's) loads each
# over keep-alive at every connection count: the servers on one set of CPUs,
# wrk on the others, each in a session of its own. Each run is a warm-up and
# a counted wrk run against a fresh server; the server's CPU time is the
# utime+stime of its processes and threads (/proc/PID/stat) over the counted
# run. It prints requests per second and the server's CPU per request, the
# medians over the rounds, their spread and weft's ratio to each peer.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them; bench/run.sh
# runs it among the others with the same output. A peer that cannot be had is
# skipped, saying so. bench/device_scaling.sh runs it at N = 1, 2, 4, 8 from
# prebuilt programs.
#
# Environment (beside BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL, VERBOSE and
# BENCH_RAW: see bench/harness.sh):
#   THREADS=1         server threads: weft's run(run_options{.threads = N}) with a
#                     server per thread (SO_REUSEPORT), nginx worker_processes N
#                     (listen ... reuseport when N > 1), Go GOMAXPROCS=N
#   HTTP_ROUNDS=3     rounds (each runs every server once at every connection count)
#   HTTP_CONNS="256 1000"   wrk's connections, one count after the other
#   HTTP_SECONDS=5 HTTP_WARMUP=1   counted seconds of each wrk run, after a warm-up run
#   HTTP_SERVER_CPUS=0 HTTP_LOAD_CPUS=1   taskset CPU lists of the servers and of wrk
#                     (default: the servers on CPUs 0..N-1, wrk on the rest; not
#                     pinned with BENCH_CPU=none or without a CPU left for wrk)
#   HTTP_WRK_THREADS  wrk's threads (default: one per CPU of HTTP_LOAD_CPUS)
#   HTTP_SERVERS="weft nginx go"   which servers run
#   WRK=wrk NGINX=nginx   the load generator and nginx (default: found on PATH,
#                     or /usr/sbin/nginx)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

http_server_missing() {
    go_missing
    command -v "${WRK:-wrk}" >/dev/null || echo wrk
    http_find_nginx >/dev/null || echo nginx-light
}
http_server_targets=(weft_http_server)
http_server_go=(http_server_go:http_server_go.go)

# http_find_nginx: prints the nginx to run ($NGINX, else nginx on PATH, else
# /usr/sbin/nginx, which is not on a user's PATH); fails when there is none.
http_find_nginx() {
    local n
    n=$(command -v "${NGINX:-nginx}" 2>/dev/null) || n=""
    [ -z "$n" ] && [ -z "${NGINX:-}" ] && [ -x /usr/sbin/nginx ] && n=/usr/sbin/nginx
    [ -n "$n" ] && echo "$n"
}

http_threads=${THREADS:-1}
http_rounds=${HTTP_ROUNDS:-3}
http_conns=${HTTP_CONNS:-256 1000}
http_seconds=${HTTP_SECONDS:-5}
http_warmup=${HTTP_WARMUP:-1}
http_servers=${HTTP_SERVERS:-weft nginx go}
# The programs: bench/device_scaling.sh sets these to its folder's.
http_weft=${http_weft:-$bin/weft_http_server}
http_go=${http_go:-$bin/http_server_go}
http_wrk=${http_wrk:-${WRK:-wrk}}
http_nginx=${http_nginx:-}

# http_pin: sets http_spin and http_lpin (taskset prefixes, each in a session
# of its own as echo's are) and http_wrk_threads from the variables above.
http_pin() {
    local scpus lcpus n
    n=$(nproc)
    scpus=${HTTP_SERVER_CPUS:-$(cpu_list 0 $((http_threads - 1)))}
    lcpus=${HTTP_LOAD_CPUS:-$(cpu_list "$http_threads" $((n - 1)))}
    http_spin=() http_lpin=()
    if [ "$cpu" = none ] || ! command -v taskset >/dev/null; then
        scpus="" lcpus=""
    elif [ -z "$lcpus" ]; then
        say "http_server: no CPU left for wrk beside $http_threads server threads on $n CPUs: nothing is pinned"
        scpus=""
    fi
    [ -n "$scpus" ] && http_spin=(taskset -c "$scpus")
    [ -n "$lcpus" ] && http_lpin=(taskset -c "$lcpus")
    if command -v setsid >/dev/null; then http_spin=(setsid "${http_spin[@]}") http_lpin=(setsid "${http_lpin[@]}"); fi
    http_wrk_threads=${HTTP_WRK_THREADS:-$([ -n "$lcpus" ] && cpu_count "$lcpus" || echo 1)}
    http_where="servers $([ -n "$scpus" ] && echo "on CPU $scpus" || echo unpinned), wrk -t$http_wrk_threads $([ -n "$lcpus" ] && echo "on CPU $lcpus" || echo unpinned)"
}

# http_ticks PID: utime+stime in clock ticks of PID and every process under
# it (nginx's workers under its master, under timeout; setsid and taskset exec
# in place), all their threads counted. Parents are found in /proc/*/stat
# (/proc/PID/task/*/children is not in every kernel).
http_ticks() {
    # Without the name (field 2, which may hold spaces): pid, state, ppid, ...,
    # utime and stime are fields 13 and 14.
    # A process may end between the glob and its read: cat then fails, the rest is right.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^\([0-9]*\) (.*) /\1 /' | awk -v root="$1" '
        {parent[$1] = $3; ticks[$1] = $13 + $14}
        END {
            in_tree[root] = 1
            do {
                more = 0
                for (p in parent) if (!(p in in_tree) && (parent[p] in in_tree)) {in_tree[p] = 1; more = 1}
            } while (more)
            for (p in in_tree) t += ticks[p]
            print t + 0
        }'
}

# http_free_port: a TCP port no socket uses now, below the ephemeral range
# (where wrk's own connections take theirs), for nginx, which cannot pick one
# itself and say which. /proc/net/tcp writes ports in hex.
http_free_port() {
    local p used lo=32768 span
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    span=$((lo - 10000))
    ((span < 1000)) && span=1000
    used=$(awk 'NR > 1 {split($2, a, ":"); print a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    for ((;;)); do
        p=$((10000 + RANDOM % span))
        grep -qx "$(printf '%04X' "$p")" <<<"$used" || { echo "$p"; return; }
    done
}

# http_nginx_conf DIR PORT: nginx's configuration for THREADS workers in DIR,
# everything it writes (pid, temp dirs) under DIR too.
http_nginx_conf() {
    local dir=$1 port=$2 reuse=""
    ((http_threads > 1)) && reuse=" reuseport"
    cat >"$dir/nginx.conf" <<CONF
# made by bench/http_server.sh for one run
worker_processes $http_threads;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log stderr warn;
events {
    worker_connections 20000;
}
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port backlog=4096$reuse;
        location / {
            default_type text/plain;
            return 200 "Hello, world!";
        }
    }
}
CONF
}

# http_start LABEL MAX_SECONDS [TRY]: starts server LABEL (weft, nginx, go) on the
# server CPUs; sets http_pid and http_port (empty when it did not start). The
# server stops by itself after MAX_SECONDS, should this script die.
http_start() {
    local label=$1 max=$2 i
    http_pid="" http_port=""
    http_out=$(mktemp)
    case $label in
        weft)
            "${http_spin[@]}" "$http_weft" 0 "$max" "$http_threads" >"$http_out" 2>&1 &
            http_pid=$!
            ;;
        go)
            GOMAXPROCS=$http_threads "${http_spin[@]}" "$http_go" 0 "$max" >"$http_out" 2>&1 &
            http_pid=$!
            ;;
        nginx)
            http_dir=$(mktemp -d)
            http_port=$(http_free_port)
            http_nginx_conf "$http_dir" "$http_port"
            "${http_spin[@]}" timeout "$max" "$http_nginx" -p "$http_dir" -c "$http_dir/nginx.conf" -e stderr \
                >"$http_out" 2>&1 &
            http_pid=$!
            ;;
    esac
    for ((i = 0; i < 200; i++)); do
        if [ "$label" = nginx ]; then
            # Listening once it wrote its pid file (after its bind) and a connect succeeds.
            [ -s "$http_dir/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && return 0
        else
            http_port=$(awk '/^PORT /{print $2; exit}' "$http_out")
            [ -n "$http_port" ] && return 0
        fi
        kill -0 "$http_pid" 2>/dev/null || break
        sleep 0.05
    done
    # A port taken between the look and nginx's bind: another one, twice at most.
    if [ "$label" = nginx ] && [ "${3:-1}" -lt 3 ] && grep -q 'Address already in use' "$http_out"; then
        http_stop
        http_start "$label" "$max" $((${3:-1} + 1))
        return
    fi
    http_port=""
}

# http_stop: stops the server http_start started and forgets it.
http_stop() {
    kill "$http_pid" 2>/dev/null || true
    wait "$http_pid" 2>/dev/null || true
    rm -f "$http_out"
    [ -n "${http_dir:-}" ] && rm -rf "$http_dir"
    http_dir=""
}

# http_wrk CONNS SECONDS: runs wrk against the server and prints its output,
# then "TIMES" and what `times` says: the second line is the CPU time of this
# (sub)shell's children, wrk's (setsid and taskset exec in place). times runs
# in this shell itself, not in a pipeline's subshell, which has no children.
http_wrk() {
    local rc=0
    "${http_lpin[@]}" "$http_wrk" -t "$http_wrk_threads" -c "$1" -d "${2}s" --timeout 10s \
        "http://127.0.0.1:$http_port/" || rc=$?
    echo TIMES
    times
    return $rc
}

# http_run KEY LABEL CONNS ROUND: one fresh server, a warm-up and a counted
# wrk run; appends "KEY_rps", "KEY_cpu_us" (the server's CPU per request),
# "KEY_srv_util" and "KEY_wrk_util" (CPU seconds per second) to $results
# with ROUND, and any trouble to $http_notes.
http_run() {
    local key=$1 label=$2 conns=$3 round=$4 t0 t1 out rc=0 tck wall
    case $label in
        weft) [ -x "$http_weft" ] || return 0 ;;
        go) [ -x "$http_go" ] || return 0 ;;
        nginx) [ -n "$http_nginx" ] || return 0 ;;
    esac
    printf ' [%s]' "$label" >&2
    http_start "$label" $((http_warmup + http_seconds + 60))
    if [ -z "$http_port" ]; then
        printf ' (did not start)' >&2
        http_notes+="    http_server: $label did not start: $(head -c 300 "$http_out" | tr '\n' ' ')"$'\n'
        http_stop
        return 0
    fi
    if [ "$http_warmup" != 0 ]; then http_wrk "$conns" "$http_warmup" >/dev/null || true; fi
    t0=$(http_ticks "$http_pid")
    out=$(http_wrk "$conns" "$http_seconds") || rc=$?
    t1=$(http_ticks "$http_pid")
    kill -0 "$http_pid" 2>/dev/null || http_notes+="    http_server: $label exited during the run"$'\n'
    http_stop
    [ $rc = 0 ] || http_notes+="    http_server: wrk against $label exited $rc"$'\n'
    tck=$(getconf CLK_TCK)
    awk -v k="$key" -v r="$round" -v cpu="$(((t1 - t0) * 1000000 / tck))" '
        function secs(v, a) {sub(/s$/, "", v); split(v, a, "m"); return a[1] * 60 + a[2]}
        / requests in / {n = $1; wall = $4; sub(/s,?$/, "", wall)}
        /^Requests\/sec:/ {rps = $2}
        /^TIMES$/ {m = NR}
        m && NR == m + 2 {w = secs($1) + secs($2)}
        END {
            if (n > 0 && rps > 0) {
                print k "_rps", rps, r
                print k "_cpu_us", cpu / n, r
                if (wall > 0) {print k "_srv_util", cpu / 1e6 / wall, r; print k "_wrk_util", w / wall, r}
            }
        }' <<<"$out" >>"$results"
    printf 'http_load1 %s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$round" >>"$results"
    out=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | sed "s/^ */    http_server: $label, $conns connections: /" || true)
    [ -z "$out" ] || http_notes+="$out"$'\n'
    if [ -n "${VERBOSE:-}" ]; then http_notes+="    http_server: $label, $conns connections: $((t1 - t0)) ticks"$'\n'; fi
}

# http_row KEY TEXT: requests/s with spread and weft's ratio (of the medians,
# and paired by round), the same for CPU per request, and the servers' and
# wrk's CPU use. KEY is "http_CONNS_LABEL"; weft's is "http_CONNS_weft".
http_row() {
    local k=$1 w="${1%_*}_weft" text=$2 m c su lu
    m=$(median "${k}_rps")
    if [ -z "$m" ]; then
        printf '  %-30s %9s\n' "$text" "skipped"
        return
    fi
    c=$(median "${k}_cpu_us")
    su=$(median "${k}_srv_util")
    lu=$(median "${k}_wrk_util")
    printf '  %-30s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s %4s\n' "$text" \
        "$(fmt "$m")" "$(range "${k}_rps")" "$(ratio "${w}_rps" "${k}_rps")" "$(paired "${w}_rps" "${k}_rps")" \
        "${c:+$(fmt "$c")}" "$(range "${k}_cpu_us")" "$(ratio "${w}_cpu_us" "${k}_cpu_us")" \
        "$(paired "${w}_cpu_us" "${k}_cpu_us")" "${su:+$(printf '%.2f' "$su")}" "${lu:+$(printf '%.2f' "$lu")}"
}

# http_table PREFIX: the table of one connection count (keys PREFIX_LABEL_*).
http_table() {
    local p=$1 s t=$http_threads
    printf '  %-30s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s %4s\n' "server" "req/s" "[min..max]" \
        "weft/" "" "CPU us" "[min..max]" "weft/" "" "srv" "wrk"
    printf '  %-30s %9s %-19s %5s %5s  %7s %-15s %5s %5s  %4s %4s\n' "" "median" "" "this" "pair" \
        "per req" "" "this" "pair" "util" "util"
    for s in $http_servers; do
        case $s in
            weft) http_row "${p}_weft" "weft ($t thread$([ "$t" = 1 ] || echo s))" ;;
            nginx) http_row "${p}_nginx" "nginx ($t worker$([ "$t" = 1 ] || echo s), return 200)" ;;
            go) http_row "${p}_go" "Go net/http (GOMAXPROCS=$t)" ;;
        esac
    done
}

bench_http_server() {
    local r c s
    ulimit -n 20000 2>/dev/null || ulimit -n 8192 2>/dev/null || true
    http_nginx=${http_nginx:-$(http_find_nginx || true)}
    [ -n "$http_nginx" ] || say "http_server: nginx not found (apt-get install nginx-light): its row is skipped"
    command -v "$http_wrk" >/dev/null || { say "http_server: wrk not found (apt-get install wrk); skipped"; return 0; }
    [ -x "$http_weft" ] || say "http_server: weft_http_server not built: weft is left out"
    [ -x "$http_go" ] || say "http_server: the Go server is not built: Go is left out"
    for c in $http_conns; do
        if [ "$(ulimit -n)" != unlimited ] && ((c + 64 > $(ulimit -n))); then
            say "http_server: ulimit -n is $(ulimit -n), too few for $c connections; skipped"
            return 0
        fi
    done
    http_pin
    say "http_server: $http_rounds rounds of ${http_warmup}+${http_seconds} s runs at $http_conns connections, THREADS=$http_threads, $http_where, ulimit -n $(ulimit -n)"
    for ((r = 1; r <= http_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$http_rounds" >&2
        http_notes=""
        for c in $http_conns; do
            printf ' c=%s' "$c" >&2
            for s in $http_servers; do http_run "http_${c}_$s" "$s" "$c" "$r"; done
        done
        printf '\n%s' "$http_notes" >&2
    done
    printf '\nhttp_server — hello world over HTTP/1.1 keep-alive (13-byte body), wrk %s s per run after %s s,\n' \
        "$http_seconds" "$http_warmup"
    printf '  THREADS=%s; %s; requests per second (higher is better)\n' "$http_threads" "$http_where"
    printf '  weft/this: ratio of the medians; pair: median of the ratios within a round (the steadier one);\n'
    printf '  CPU us per req: the server'"'"'s utime+stime (every process and thread) over the counted run, per\n'
    printf '  request (lower is better); util: CPU seconds per second of the server and of wrk (wrk near its\n'
    printf '  thread count: the load generator was the limit, not the server)\n'
    for c in $http_conns; do
        printf ' %s connections\n' "$c"
        http_table "http_$c"
        verdict "$c connections: weft >= 1.0x nginx (req/s)" "m(http_${c}_weft_rps) >= m(http_${c}_nginx_rps)"
        verdict "$c connections: weft's CPU per request <= nginx's" "m(http_${c}_weft_cpu_us) <= m(http_${c}_nginx_cpu_us)"
        verdict "$c connections: weft ahead of Go (req/s)" "m(http_${c}_weft_rps) > m(http_${c}_go_rps)"
    done
    printf '  load average (1 min) after each run: %s\n' "$(spread "http_load1")"
}

if bench_executed; then bench_main http_server; fi
