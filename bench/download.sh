#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/download.sh — one large body (1 GiB) over loopback, streamed to nothing: weft's client beside curl and Go net/http (issue 12).
#
# One server for the whole run (nginx sending a file from tmpfs, or weft's
# http::server with a body_source) on one CPU; each client on another, timed
# from outside as a whole process: MB/s and the client's CPU (user + sys) per
# MB, medians over rounds, weft's ratios.
#
# Installs what is missing (needs root and apt), configures weft's release
# build, builds the programs (bench/harness.sh) and runs them. A peer that
# cannot be had is skipped, saying so.
#
# Environment (beside ROUNDS, BENCH_CPU, BENCH_BUILD, BENCH_NO_INSTALL,
# VERBOSE and BENCH_RAW: see bench/harness.sh):
#   DL_ROUNDS=5       rounds (each runs every client once, in turn)
#   DL_SIZE=1073741824   the body's bytes (1 GiB)
#   DL_SERVER=nginx   nginx (sendfile of a file in /dev/shm) or weft
#                     (weft_download serve: a body_source copying from memory)
#   DL_PATH=/         the URL's path; with DL_SERVER=weft, /chunked sends the
#                     body chunked (no Content-Length)
#   DL_CLIENTS="weft curl go"   the clients, in the order each round runs them
#   DL_BUFFER=65536   weft's read_some buffer
#   DL_SERVER_CPU=0 DL_CLIENT_CPU=1   where the server and the clients run
#                     (not pinned with BENCH_CPU=none or on one CPU)
set -euo pipefail
# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

download_missing() {
    go_missing
    command -v curl >/dev/null || echo curl
    if [ "${DL_SERVER:-nginx}" = nginx ]; then
        command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || echo nginx-light
    fi
}
download_targets=(weft_download)
download_go=(download_go:download_go.go)

dl_rounds=${DL_ROUNDS:-5}
dl_size=${DL_SIZE:-1073741824}
dl_server=${DL_SERVER:-nginx}
dl_path=${DL_PATH:-/}
dl_clients=${DL_CLIENTS:-weft curl go}
dl_buffer=${DL_BUFFER:-65536}
dl_spin=() dl_cpin=()
if [ "$cpu" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    dl_spin=(taskset -c "${DL_SERVER_CPU:-0}")
    dl_cpin=(taskset -c "${DL_CLIENT_CPU:-1}")
fi
# Each in a session of its own, as in echo (autogroup: one session's share each).
if command -v setsid >/dev/null; then dl_spin=(setsid -w "${dl_spin[@]}") dl_cpin=(setsid -w "${dl_cpin[@]}"); fi

# dl_measure: python that runs its arguments as a program and prints its
# output, then RESULT wall_ms (from fork to its exit) and cpu_ms, user_ms,
# sys_ms (its rusage from wait4, every thread): the same for every client,
# process start and exit counted, as they are for a user.
dl_measure='
import os, sys, time
t0 = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = (time.monotonic_ns() - t0) / 1e6
sys.stdout.flush()
print("RESULT wall_ms=%.2f" % wall)
print("RESULT cpu_ms=%.2f" % ((ru.ru_utime + ru.ru_stime) * 1e3))
print("RESULT user_ms=%.2f" % (ru.ru_utime * 1e3))
print("RESULT sys_ms=%.2f" % (ru.ru_stime * 1e3))
code = os.waitstatus_to_exitcode(status)
if code != 0:
    print("NOTE download: %s exited %d" % (sys.argv[1], code))
'

# dl_client LABEL: sets dl_cmd to the command that downloads $dl_url with
# client LABEL (empty when that client is missing).
dl_client() {
    dl_cmd=()
    case $1 in
    weft) [ -x "$bin/weft_download" ] && dl_cmd=("$bin/weft_download" get "$dl_url" "$dl_size" "$dl_buffer") ;;
    curl) command -v curl >/dev/null && dl_cmd=(curl -s -o /dev/null -w 'RESULT bytes=%{size_download}\n' "$dl_url") ;;
    go) [ -x "$bin/download_go" ] && dl_cmd=(env GOMAXPROCS=1 "$bin/download_go" "$dl_url" "$dl_size") ;;
    esac
    return 0
}

# dl_nginx_conf DIR PORT: one worker sending DIR/body with sendfile, every
# file it writes under DIR.
dl_nginx_conf() {
    cat >"$1/nginx.conf" <<CONF
# made by bench/download.sh for one run
worker_processes 1;
daemon off;
pid $1/nginx.pid;
lock_file $1/nginx.lock;
error_log stderr warn;
events {
    worker_connections 64;
}
http {
    access_log off;
    sendfile on;
    client_body_temp_path $1/tmp;
    proxy_temp_path $1/tmp;
    fastcgi_temp_path $1/tmp;
    uwsgi_temp_path $1/tmp;
    scgi_temp_path $1/tmp;
    server {
        listen 127.0.0.1:$2;
        root $1;
        location / {
            default_type application/octet-stream;
            try_files /body =404;
        }
    }
}
CONF
}

# dl_free_port: a TCP port that no socket uses now, below the ephemeral
# range (nginx cannot pick one itself and say which). /proc/net/tcp writes
# ports in hex.
dl_free_port() {
    local p used low
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    ((low > 11000)) || low=32768
    used=$(awk 'NR > 1 {split($2, a, ":"); print a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    for ((;;)); do
        p=$((10000 + RANDOM % (low - 10000)))
        grep -qx "$(printf '%04X' "$p")" <<<"$used" || { echo "$p"; return; }
    done
}

# dl_start: starts the server for the whole run; sets dl_pid and dl_url
# (dl_url empty when it did not start). It stops by itself after an hour.
dl_start() {
    local port="" i nginx sout
    dl_url="" dl_pid=""
    if [ "$dl_server" = weft ]; then
        [ -x "$bin/weft_download" ] || { say "download: weft_download not built"; return 0; }
        sout=$dl_dir/server.out
        : >"$sout"  # there before the server's own redirection, for awk below
        "${dl_spin[@]}" "$bin/weft_download" serve 0 "$dl_size" 3600 >"$sout" &
        dl_pid=$!
        for ((i = 0; i < 100; i++)); do
            port=$(awk '/^PORT /{print $2; exit}' "$sout")
            [ -n "$port" ] && break
            sleep 0.05
        done
    else
        nginx=$(command -v nginx || echo /usr/sbin/nginx)
        [ -x "$nginx" ] || { say "download: nginx not found (apt-get install nginx-light)"; return 0; }
        # The body: a real file in tmpfs (every page written, no holes), so
        # that the server reads memory and never the disk.
        head -c "$dl_size" /dev/zero >"$dl_dir/body"
        mkdir -p "$dl_dir/tmp"
        chmod a+rx "$dl_dir" && chmod a+r "$dl_dir/body"  # nginx's worker is not root
        port=$(dl_free_port)
        dl_nginx_conf "$dl_dir" "$port"
        timeout 3600 "${dl_spin[@]}" "$nginx" -c "$dl_dir/nginx.conf" -p "$dl_dir" 2>"$dl_dir/nginx.err" &
        dl_pid=$!
        for ((i = 0; i < 400; i++)); do
            curl -s -o /dev/null "http://127.0.0.1:$port/nothing" 2>/dev/null && break
            kill -0 "$dl_pid" 2>/dev/null || break
            sleep 0.05
        done
    fi
    if [ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/nothing" 2>/dev/null; then
        dl_url="http://127.0.0.1:$port$dl_path"
    elif [ -s "$dl_dir/nginx.err" ]; then
        sed 's/^/    nginx: /' "$dl_dir/nginx.err" >&2
    fi
}

# dl_ticks: utime+stime in clock ticks of the server's processes (nginx's
# worker under its master, under timeout), every thread counted. A process
# that ends between the glob and cat is no error.
dl_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^\([0-9]*\) (.*) /\1 /' | awk -v root="$dl_pid" '
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

# dl_row LABEL TEXT: MB/s and CPU µs per MB with their spreads and weft's
# ratios (of the medians, and paired by round), and the user share.
dl_row() {
    local k="download_$1_" w="download_weft_" r c u
    r=$(median "${k}mb_per_s")
    if [ -z "$r" ]; then
        printf '  %-24s %8s\n' "$2" "skipped"
        return
    fi
    c=$(median "${k}cpu_us_per_mb")
    u=$(median "${k}user_us_per_mb")
    printf '  %-24s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "$2" \
        "$(fmt "$r")" "$(range "${k}mb_per_s")" "$(ratio "${w}mb_per_s" "${k}mb_per_s")" \
        "$(paired "${w}mb_per_s" "${k}mb_per_s")" \
        "$(fmt "$c")" "$(range "${k}cpu_us_per_mb")" "$(ratio "${w}cpu_us_per_mb" "${k}cpu_us_per_mb")" \
        "$(paired "${w}cpu_us_per_mb" "${k}cpu_us_per_mb")" \
        "$(awk -v u="$u" -v c="$c" 'BEGIN {if (c > 0) printf "%.0f%%", u * 100 / c}')" \
        "$(fmt "$(median "${k}server_us_per_mb")")"
}

bench_download() {
    local r lbl out notes line t0
    dl_hz=$(getconf CLK_TCK)
    dl_dir=$(mktemp -d /dev/shm/weft-download.XXXXXX)
    trap 'if [ -n "${dl_pid:-}" ]; then kill "$dl_pid" 2>/dev/null || true; fi; rm -rf "${dl_dir:?}"
        if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi; rm -f "$results"' EXIT
    dl_start
    if [ -z "$dl_url" ]; then
        say "download: the $dl_server server did not start; skipped"
        return 0
    fi
    say "download: $dl_rounds rounds, $dl_size bytes from $dl_server ($dl_url), server ${dl_spin[*]:-unpinned}, clients ${dl_cpin[*]:-unpinned}"
    for ((r = 1; r <= dl_rounds; r++)); do
        printf '  round %d/%d:' "$r" "$dl_rounds" >&2
        notes=""
        for lbl in $dl_clients; do
            dl_client "$lbl"
            ((${#dl_cmd[@]})) || continue
            printf ' [%s]' "$lbl" >&2
            t0=$(dl_ticks)
            out=$("${dl_cpin[@]}" timeout 600 /usr/bin/python3 -c "$dl_measure" "${dl_cmd[@]}") || true
            out+=$'\n'"RESULT server_ticks=$(($(dl_ticks) - t0))"
            # MB is 10^6 bytes; a run that did not get the whole body counts not.
            awk -v p="download_${lbl}_" -v r="$r" -v size="$dl_size" -v hz="$dl_hz" -F'[ =]' '
                /^RESULT / {v[$2] = $3}
                END {
                    if (v["bytes"] != size || v["wall_ms"] <= 0) exit
                    mb = size / 1e6
                    print p "mb_per_s", mb / (v["wall_ms"] / 1e3), r
                    print p "cpu_us_per_mb", v["cpu_ms"] * 1e3 / mb, r
                    print p "user_us_per_mb", v["user_ms"] * 1e3 / mb, r
                    print p "wall_ms", v["wall_ms"], r
                    print p "server_us_per_mb", v["server_ticks"] * 1e6 / hz / mb, r
                }' <<<"$out" >>"$results"
            grep -q "^RESULT bytes=$dl_size\$" <<<"$out" || notes+="    $lbl did not read $dl_size bytes"$'\n'
            while IFS= read -r line; do notes+="    $line"$'\n'; done < <(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$out" || true)
        done
        printf 'download_load1 %s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$r" >>"$results"
        printf '\n%s' "$notes" >&2
    done
    printf '\ndownload — one %s-byte body from %s on loopback, streamed to nothing by each client\n' "$dl_size" "$dl_server"
    printf '  MB/s: 10^6 bytes per second of the client'"'"'s whole process (start to exit; higher is better);\n'
    printf '  CPU: the client'"'"'s user + sys µs per MB (lower is better); user: its user-space share;\n'
    printf '  weft/this: ratio of the medians; pair: median of the ratios within a round;\n'
    printf '  server: the server'"'"'s CPU µs per MB while it served this client (clock ticks)\n'
    printf '  %-24s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "client" "MB/s" "[min..max]" "weft/" "" \
        "CPU µs" "[min..max]" "weft/" "" "user" "server"
    printf '  %-24s %8s %-15s %5s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "" "median" "" "this" "pair" "per MB" "" "this" "pair" "" \
        "µs/MB"
    dl_row weft "weft (open + read_some)"
    dl_row curl "curl -o /dev/null"
    dl_row go "Go net/http (io.Copy)"
    verdict "download: weft's MB/s >= curl's" "m(download_weft_mb_per_s) >= m(download_curl_mb_per_s)"
    verdict "download: weft's CPU per MB <= curl's" "m(download_weft_cpu_us_per_mb) <= m(download_curl_cpu_us_per_mb)"
    printf '  load average (1 min) after each round: %s\n' "$(spread download_load1)"
}

if bench_executed; then bench_main download; fi
