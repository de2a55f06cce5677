#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/ab.sh REV_A [REV_B]: the echo benchmark for two builds of weft in one
# run — every change on a hot path is measured against the code before it.
# REV_B defaults to the working tree. Each revision is built in release in
# build-ab/<rev> (a git worktree for a revision), then the two
# weft_echo_server programs run alternately (A B A B ...) against the same
# echo_load, in ping-pong and streaming mode, server and load on different
# CPUs. Prints each median, the spread, and B/A (both the ratio of the medians
# and the median of the per-round ratios).
#   AB_ROUNDS=5 ECHO_SECONDS=4 ECHO_WARMUP=1 ECHO_CONNS=1000 ECHO_STREAM_CONNS=8 ECHO_DEPTH=64 ECHO_MSG=512
# AB_BENCH=http measures weft_http_server under wrk instead (bench/http_server.sh's
# hello world, one thread): requests/s and the server's CPU per request at
# each of HTTP_CONNS="256 1000" connections (wrk -t1, HTTP_SECONDS=4 after a 1 s warm-up).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 REV_A [REV_B]" >&2; exit 2; }
# Revisions are named by their commit, so that "HEAD" means the same in every run.
rev_a=$(git -C "$root" rev-parse --short "$1")
rev_b=WORKTREE
[ $# -ge 2 ] && rev_b=$(git -C "$root" rev-parse --short "$2")
rounds=${AB_ROUNDS:-5} secs=${ECHO_SECONDS:-4} warm=${ECHO_WARMUP:-1}
out=$root/build-ab
mkdir -p "$out"

# build REV: prints the directory holding weft_echo_server and echo_load for REV.
build() {
    local rev=$1 src dir
    if [ "$rev" = WORKTREE ]; then
        src=$root dir=$out/worktree
    else
        src=$out/src-$rev dir=$out/$rev
        [ -d "$src" ] || git -C "$root" worktree add --detach "$src" "$rev" >&2
    fi
    [ -f "$dir/build.ninja" ] || meson setup "$dir" "$src" --buildtype=release -Dtests=false -Ddemos=false >&2
    ninja -C "$dir" bench/weft_echo_server bench/echo_load bench/weft_http_server >&2
    echo "$dir/bench"
}
bin_a=$(build "$rev_a")
bin_b=$(build "$rev_b")

spin=() lpin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then spin=(taskset -c 0) lpin=(taskset -c 1); fi
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# start_server PROGRAM: starts PROGRAM (port 0) on the server CPU and sets
# spid, port and sout (its output) of the caller.
start_server() {
    sout=$(mktemp)
    setsid "${spin[@]}" "$1" 0 $((secs + warm + 30)) >"$sout" &
    spid=$!
    for _ in $(seq 100); do
        port=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$port" ] && break
        sleep 0.1
    done
}

# run LABEL BIN MODE ROUND: one server under echo_load; appends "MODE_LABEL_KEY VALUE ROUND".
run() {
    local label=$1 bin=$2 mode=$3 round=$4 sout spid port="" args=(-c "${ECHO_CONNS:-1000}" -d 1)
    [ "$mode" = stream ] && args=(-c "${ECHO_STREAM_CONNS:-8}" -d "${ECHO_DEPTH:-64}")
    start_server "$bin/weft_echo_server"
    setsid "${lpin[@]}" "$bin_a/echo_load" "$port" "${args[@]}" -m "${ECHO_MSG:-512}" -t "$secs" -w "$warm" -p "$spid" |
        awk -v p="${mode}_${label}_" -v r="$round" -F'[ =]' '/^RESULT /{print p $2, $3, r}' >>"$results"
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    rm -f "$sout"
}

# ticks PID: the utime+stime of PID, in clock ticks.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# run_http LABEL BIN CONNS ROUND: weft_http_server under wrk; appends
# "cCONNS_LABEL_KEY VALUE ROUND" for requests/s and CPU ns per request.
run_http() {
    local label=$1 bin=$2 conns=$3 round=$4 sout spid port="" t0 t1 out
    start_server "$bin/weft_http_server"
    "${lpin[@]}" wrk -t1 -c"$conns" -d"$warm" "http://127.0.0.1:$port/" >/dev/null
    t0=$(ticks "$spid")
    out=$("${lpin[@]}" wrk -t1 -c"$conns" -d"$secs" "http://127.0.0.1:$port/")
    t1=$(ticks "$spid")
    echo "$out" | awk -v p="c${conns}_${label}_" -v r="$round" -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
        /requests in/ {n = $1; s = $4; sub(/s,?$/, "", s)}
        END {if (n > 0) {print p "req_per_s", n / s, r; print p "server_cpu_ns_per_req", t / hz * 1e9 / n, r}}' >>"$results"
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    rm -f "$sout"
}

ulimit -n 65536 2>/dev/null || true
if [ "${AB_BENCH:-echo}" = http ]; then
    modes=() keys=(req_per_s server_cpu_ns_per_req)
    for c in ${HTTP_CONNS:-256 1000}; do modes+=("c$c"); done
else
    modes=(pp stream) keys=(msgs_per_s server_cpu_ns_per_msg)
fi
for ((r = 1; r <= rounds; r++)); do
    printf 'round %d/%d\n' "$r" "$rounds" >&2
    for mode in "${modes[@]}"; do
        if [ "${AB_BENCH:-echo}" = http ]; then
            run_http A "$bin_a" "${mode#c}" "$r"
            run_http B "$bin_b" "${mode#c}" "$r"
        else
            run A "$bin_a" "$mode" "$r"
            run B "$bin_b" "$mode" "$r"
        fi
    done
done

median() { sort -g | awk '{v[NR] = $1} END {if (NR) printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
values() { awk -v k="$1" '$1 == k {print $2}' "$results"; }
paired() {
    awk -v a="$1" -v b="$2" '$1 == a {va[$3] = $2} $1 == b {vb[$3] = $2}
        END {for (r in va) if ((r in vb) && va[r] > 0) print vb[r] / va[r]}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
printf '\nA = %s, B = %s; %d rounds of %s+%s s; %s (%s CPUs), load %s\n' "$rev_a" "$rev_b" "$rounds" "$warm" "$secs" \
    "$(lscpu | awk -F': *' '/Model name/{print $2; exit}')" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-24s %14s %14s %8s %8s\n' mode figure A B "B/A" pair
for mode in "${modes[@]}"; do
    for key in "${keys[@]}"; do
        a=$(values "${mode}_A_$key" | median) b=$(values "${mode}_B_$key" | median)
        printf '%-10s %-24s %14s %14s %8s %8s\n' "$mode" "$key" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN {if (a > 0) printf "%.3f", b / a}')" "$(paired "${mode}_A_$key" "${mode}_B_$key")"
    done
done
