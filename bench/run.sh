#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [switch|spawn|idle|timer|all] — weft beside its peers, in one run.
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
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BENCH_BUILD:-$root/build-bench}
what=${1:-all}
rounds=${ROUNDS:-5}
idle_rounds=${IDLE_ROUNDS:-3}
idle_n=${IDLE_N:-1000000}
cpu=${BENCH_CPU:-$(($(nproc) - 1))}

case $what in
    switch | spawn | idle | timer | all) ;;
    *) echo "usage: $0 [switch|spawn|idle|timer|all]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*" >&2; }

# --- what is missing ----------------------------------------------------------
install_missing() {
    local need=()
    command -v meson >/dev/null || need+=(meson)
    command -v ninja >/dev/null || need+=(ninja-build)
    command -v c++ >/dev/null || need+=(g++)
    [ -f /usr/include/boost/context/fiber.hpp ] || need+=(libboost-context-dev)
    [ -f /usr/include/boost/fiber/all.hpp ] || need+=(libboost-fiber-dev)
    command -v go >/dev/null || need+=(golang-go)
    [ ${#need[@]} -eq 0 ] && return 0
    if [ -n "${BENCH_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "missing: ${need[*]} (not installing: needs root and apt-get); their peers are skipped"
        return 0
    fi
    say "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${need[@]}" >&2 ||
        { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; } ||
        say "apt-get failed; the peers that need ${need[*]} are skipped"
    reconfigure=1
}

# --- build ----------------------------------------------------------------------
reconfigure=0
install_missing
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
elif [ $reconfigure = 1 ]; then
    meson setup --reconfigure "$build" "$root" --buildtype=release -Dtests=false -Ddemos=false -Dbench=true >&2
else
    meson configure "$build" -Dbuildtype=release -Dbench=true >/dev/null
fi
# Only bench/'s programs (and the library under them): a build dir that also
# has tests or demos configured need not build those. build.ninja first, so
# that an option just changed is already in the target list.
ninja -C "$build" build.ninja >&2
mapfile -t targets < <(ninja -C "$build" -t targets all | awk -F: '/^bench\/[a-z_]+: / {print $1}')
ninja -C "$build" "${targets[@]}" >&2
bin=$build/bench

if command -v go >/dev/null; then
    # Go's caches go under the build dir: HOME may be read-only or absent.
    export GOCACHE=$build/go-cache GOPATH=$build/go-path GOFLAGS= GOTOOLCHAIN=local
    go build -o "$bin/go_peer" "$here/peers/go_peer.go" >&2 || { say "go build failed: Go peer skipped"; rm -f "$bin/go_peer"; }
else
    say "go not found (apt-get install golang-go): Go peer skipped"
    rm -f "$bin/go_peer"
fi
[ -x "$bin/boost_fiber_switch" ] || say "Boost.Fiber not built (apt-get install libboost-fiber-dev): its peers are skipped"

pin=()
[ "$cpu" != none ] && command -v taskset >/dev/null && pin=(taskset -c "$cpu")

# --- rounds -------------------------------------------------------------------
results=$(mktemp)
trap 'rm -f "$results"' EXIT

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

printf "machine: %s\n" "$(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); pinned: ${pin[*]:-no}"
# timed NAME: runs bench_NAME and says how long it took and how busy the box was.
timed() {
    local t0=$SECONDS load0
    load0=$(cut -d' ' -f1 /proc/loadavg)
    "bench_$1"
    printf '  (%s: %d s; load average %s at the start, %s at the end)\n' "$1" $((SECONDS - t0)) \
        "$load0" "$(cut -d' ' -f1 /proc/loadavg)"
}

case $what in
    all) timed switch; timed spawn; timed idle; timed timer ;;
    *) timed "$what" ;;
esac
