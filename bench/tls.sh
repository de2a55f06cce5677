#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/tls.sh — weft's TLS beside Go's crypto/tls (and aiohttp for https), in one run.
#
# Three parts, each weft beside its peers in alternating rounds, with the
# medians, their spread and weft's ratio to each peer:
#   handshakes  weft client -> weft server beside Go client -> Go server: handshakes
#               a second and CPU per handshake on each side, full and resumed
#   bulk        1 GiB through one TLS connection, weft beside Go: MB/s, CPU per MB
#   https       N concurrent GETs to a Go HTTPS server whose handler sleeps 1 s:
#               the client's CPU, weft beside Go net/http and asyncio + aiohttp
# Every server runs on CPU 0 and every client on CPU 1, each in a session of its
# own (setsid), all on 127.0.0.1; every program stops by itself. The
# certificates (an EC P-256 CA and a localhost certificate for DNS:localhost and
# IP:127.0.0.1, signed by it) are made afresh with the openssl CLI in the build
# directory on every run.
#
# Installs what is missing (Go, aiohttp, OpenSSL's headers; needs root and
# apt), configures a release build as bench/run.sh does, builds weft_tls and
# weft_fetch_many with ninja and the Go programs with `go build`. A peer that
# cannot be had is skipped, saying so.
#
# Environment:
#   ROUNDS=3          rounds (each runs every program of every part once)
#   TLS_PARTS="handshake bulk https"   which parts to run
#   TLS_HS_SECONDS=2 TLS_HS_WARMUP=0.5   counted seconds of each handshake run, after the warm-up
#   TLS_HS_CONNS=8    connections the handshake clients keep going at once (the
#                     resumed case also runs with one at a time)
#   TLS_BULK_BYTES=1073741824   bytes of the bulk transfer
#   TLS_FETCH_N=1000  concurrent GETs of the https part
#   TLS_SERVER_CPU=0 TLS_CLIENT_CPU=1   where the servers and the clients run
#                     (not pinned with BENCH_CPU=none or on one CPU)
#   BENCH_BUILD=dir   build directory (default: build-bench, as bench/run.sh)
#   BENCH_NO_INSTALL=1  never call apt-get
#   VERBOSE=1         also show the programs' INFO lines
#   BENCH_RAW=file    also keep every round's figures there ("key value round" lines)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$(realpath -m "${BENCH_BUILD:-$root/build-bench}")  # absolute: Go wants GOPATH so
rounds=${ROUNDS:-3}
parts=${TLS_PARTS:-handshake bulk https}
hs_seconds=${TLS_HS_SECONDS:-2}
hs_warmup=${TLS_HS_WARMUP:-0.5}
hs_conns=${TLS_HS_CONNS:-8}
bulk_bytes=${TLS_BULK_BYTES:-1073741824}
fetch_n=${TLS_FETCH_N:-1000}

say() { printf '%s\n' "$*" >&2; }

# shellcheck source=harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# --- what is missing ----------------------------------------------------------
install_missing() {
    local need=()
    command -v meson >/dev/null || need+=(meson)
    command -v ninja >/dev/null || need+=(ninja-build)
    command -v c++ >/dev/null || need+=(g++)
    command -v pkg-config >/dev/null || need+=(pkg-config)
    [ -f /usr/include/boost/context/fiber.hpp ] || need+=(libboost-context-dev)
    [ -f /usr/include/ares.h ] || need+=(libc-ares-dev)
    [ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
    command -v openssl >/dev/null || need+=(openssl)
    command -v go >/dev/null || need+=(golang-go)
    /usr/bin/python3 -c 'import aiohttp' 2>/dev/null || need+=(python3-aiohttp)
    bench_install "${need[@]}"
}

# --- build ----------------------------------------------------------------------
install_missing
bench_configure
ninja -C "$build" bench/weft_tls bench/weft_fetch_many >&2
bin=$build/bench

if command -v go >/dev/null; then
    # Go's caches go under the build dir: HOME may be read-only or absent.
    export GOCACHE=$build/go-cache GOPATH=$build/go-path GOFLAGS= GOTOOLCHAIN=local
    for p in tls_go sleep_server fetch_go; do
        go build -o "$bin/$p" "$here/peers/$p.go" >&2 || { say "go build failed: $p skipped"; rm -f "$bin/$p"; }
    done
else
    say "go not found (apt-get install golang-go): the Go peers and the https part are skipped"
    rm -f "$bin/tls_go" "$bin/sleep_server" "$bin/fetch_go"
fi

# --- certificates ---------------------------------------------------------------
# certs/ca.crt signs certs/server.crt (CN localhost, SAN DNS:localhost and
# IP:127.0.0.1, serverAuth); both EC P-256, ECDSA with SHA-256, valid 2 days.
certs=$build/tls-certs
make_certs() {
    rm -rf "$certs"
    mkdir -p "$certs"
    (
        cd "$certs"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=weft bench CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
        openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 \
            -extfile server.ext -out server.crt
        openssl verify -CAfile ca.crt server.crt
    ) >/dev/null 2>"$certs/openssl.log"
}
command -v openssl >/dev/null || { say "openssl (the CLI) not found: cannot make certificates"; exit 1; }
make_certs || { cat "$certs/openssl.log" >&2; say "making the certificates failed"; exit 1; }

spin=() cpin=()
if [ "${BENCH_CPU:-}" != none ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    spin=(taskset -c "${TLS_SERVER_CPU:-0}")
    cpin=(taskset -c "${TLS_CLIENT_CPU:-1}")
fi
# Each program in a session of its own (autogroup: one session's share each,
# as bench/run.sh's echo and fetch do). setsid and taskset exec in place, so
# $! stays the server's pid, which the clients read the CPU time of.
command -v setsid >/dev/null && { spin=(setsid "${spin[@]}"); cpin=(setsid "${cpin[@]}"); }

# --- figures (as bench/run.sh's) ---------------------------------------------------
results=$(mktemp)
trap 'if [ -n "${BENCH_RAW:-}" ]; then cp "$results" "$BENCH_RAW"; fi; rm -f "$results"' EXIT

# median KEY: the median over rounds (empty when the key never showed up).
median() {
    awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
# fmt V: two decimals below 100, one below 1000, none above.
fmt() { awk -v v="$1" 'BEGIN {printf (v == int(v) || v >= 1000 ? "%.0f" : v < 100 ? "%.2f" : "%.1f"), v}'; }
# range KEY: "[min..max]" over the rounds.
range() {
    local lo hi
    read -r lo hi < <(awk -v k="$1" '$1 == k {print $2}' "$results" | sort -g | sed -n '1p;$p' | tr '\n' ' ')
    [ -n "$lo" ] && printf '[%s..%s]' "$(fmt "$lo")" "$(fmt "${hi:-$lo}")"
}
# ratio A B: median(A) / median(B); paired A B: the median over rounds of A / B within a round.
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {if (a != "" && b > 0) printf "%.2f", a / b}'; }
paired() {
    awk -v a="$1" -v b="$2" '$1 == a {va[$3] = $2} $1 == b {vb[$3] = $2}
        END {for (r in va) if ((r in vb) && vb[r] > 0) print va[r] / vb[r]}' "$results" | sort -g |
        awk '{v[NR] = $1} END {if (NR) printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}
# verdict TEXT A OP FACTOR B: "A OP FACTOR * B" on the medians of keys A and B.
verdict() {
    local a b
    a=$(median "$2") b=$(median "$5")
    if [ -z "$a" ] || [ -z "$b" ]; then
        printf '  target %s: n/a (a figure is missing)\n' "$1"
        return
    fi
    awk -v t="$1" -v a="$a" -v b="$b" -v f="$4" -v op="$3" 'BEGIN {
        ok = op == "<" ? a < f * b : op == ">" ? a > f * b : op == "<=" ? a <= f * b : a >= f * b
        printf "  target %s: %s (%.4g vs %.4g)\n", t, ok ? "MET" : "MISSED", a, f * b}'
}

notes=""
# keep PREFIX ROUND OUTPUT: the RESULT lines of OUTPUT go to $results as
# "PREFIXkey value ROUND"; NOTE lines (and INFO with VERBOSE) to $notes.
keep() {
    awk -v p="$1" -v r="$2" -F'[ =]' '/^RESULT /{print p $2, $3, r}' <<<"$3" >>"$results"
    local n
    n=$(grep -E "^(NOTE${VERBOSE:+|INFO})" <<<"$3" | sed 's/^/    /' || true)
    [ -z "$n" ] || notes+="$n"$'\n'
    return 0
}
# cipher KEY OUTPUT: remembers the first "TLSv1.x SUITE" an INFO line of OUTPUT names.
declare -A ciphers=()
cipher() {
    [ -n "${ciphers[$1]:-}" ] && return 0
    ciphers[$1]=$(grep -m1 -oE 'TLSv1\.[23] [A-Z0-9_]+' <<<"$2" || true)
}

# server_start PROG ARGS...: starts a server on the server CPU; sets $spid and
# $port (empty when it did not come up). Its output goes to $sout.
server_start() {
    local i
    sout=$(mktemp)
    port=""
    GOMAXPROCS=1 "${spin[@]}" "$@" >"$sout" &
    spid=$!
    for ((i = 0; i < 100; i++)); do
        port=$(awk '/^PORT /{print $2; exit}' "$sout")
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] || { notes+="    NOTE $1 did not start: $(tr '\n' ' ' <"$sout")"$'\n'; }
}
server_stop() {
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
}
# client PROG ARGS...: runs a client on the client CPU, bounded by 120 s.
client() {
    local rc=0
    GOMAXPROCS=1 timeout 120 "${cpin[@]}" "$@" || rc=$?
    [ $rc = 0 ] || echo "NOTE $(basename "$1") $2: exited $rc"
}

# --- handshakes -------------------------------------------------------------------
# hs_run IMPL PROG MODE CONNS ROUND: PROG's server, then PROG's client against it.
hs_run() {
    local impl=$1 prog=$2 mode=$3 conns=$4 round=$5 out k
    [ -x "$bin/$prog" ] || return 0
    printf ' [%s %s/%s]' "$impl" "$mode" "$conns" >&2
    server_start "$bin/$prog" server 0 60 "$certs/server.crt" "$certs/server.key"
    if [ -n "$port" ]; then
        out=$(client "$bin/$prog" handshake "$port" "$certs/ca.crt" "$mode" "$hs_seconds" "$conns" "$spid" "$hs_warmup")
        k="hs_${mode}${conns}_${impl}_"
        keep "$k" "$round" "$out"
        cipher "hs_$impl" "$out"
        # client + server, per handshake, within the run
        awk -v k="$k" -v r="$round" -F'[ =]' '/^RESULT client_cpu_us=/ {c = $3} /^RESULT server_cpu_us=/ {s = $3; h = 1}
            END {if (h && c != "") print k "both_cpu_us", c + s, r}' <<<"$out" >>"$results"
    fi
    server_stop
    rm -f "$sout"
}

hs_fmt='    %-14s %6s %-15s %5s  %6s %-15s %5s  %6s %-15s %5s  %6s %5s %5s  %7s\n'
# hs_row KEY TEXT: one implementation's line of one handshake case.
hs_row() {
    local k=$1 w=${1/_go_/_weft_} h c s b
    h=$(median "${k}handshakes_per_s")
    if [ -z "$h" ]; then
        printf '    %-14s %6s\n' "$2" "skipped"
        return
    fi
    c=$(median "${k}client_cpu_us") s=$(median "${k}server_cpu_us") b=$(median "${k}both_cpu_us")
    printf "$hs_fmt" "$2" \
        "$(fmt "$h")" "$(range "${k}handshakes_per_s")" "$(ratio "${w}handshakes_per_s" "${k}handshakes_per_s")" \
        "${c:+$(fmt "$c")}" "$(range "${k}client_cpu_us")" "$(ratio "${w}client_cpu_us" "${k}client_cpu_us")" \
        "${s:+$(fmt "$s")}" "$(range "${k}server_cpu_us")" "$(ratio "${w}server_cpu_us" "${k}server_cpu_us")" \
        "${b:+$(fmt "$b")}" "$(ratio "${w}both_cpu_us" "${k}both_cpu_us")" "$(paired "${w}both_cpu_us" "${k}both_cpu_us")" \
        "$(awk -v v="$(median "${k}resumed_share")" 'BEGIN {if (v != "") printf "%.0f%%", v * 100}')"
}

hs_table() {
    printf '\nhandshakes — client -> server of the same kind, TLS 1.3, ECDSA P-256 certificate; per handshake: connect,\n'
    printf '  handshake, one byte each way (the client takes in the tickets), close_notify, close; %s s counted\n' "$hs_seconds"
    printf '  after %s s; handshakes/s and CPU us per handshake on each side (client: getrusage; server:\n' "$hs_warmup"
    printf '  /proc/PID/stat over the same span), lower CPU is better; weft/this: ratio of the medians;\n'
    printf '  pair: median of the ratios within a round; resumed: the share of handshakes that resumed\n'
    printf "$hs_fmt" "" "hs/s" "[min..max]" "weft/" \
        "client" "[min..max]" "weft/" "server" "[min..max]" "weft/" "both" "weft/" "" "resumed"
    printf "$hs_fmt" "" "median" "" "this" "CPU us" "" "this" "CPU us" "" "this" "CPU us" "this" "pair" ""
    printf '  full, %s connections at a time\n' "$hs_conns"
    hs_row "hs_full${hs_conns}_weft_" "weft"
    hs_row "hs_full${hs_conns}_go_" "Go"
    printf '  resumed, %s connections at a time\n' "$hs_conns"
    hs_row "hs_resumed${hs_conns}_weft_" "weft"
    hs_row "hs_resumed${hs_conns}_go_" "Go"
    if [ "$hs_conns" != 1 ]; then
        printf '  resumed, one connection at a time\n'
        hs_row "hs_resumed1_weft_" "weft"
        hs_row "hs_resumed1_go_" "Go"
    fi
    printf '  negotiated: weft %s; Go %s\n' "${ciphers[hs_weft]:-?}" "${ciphers[hs_go]:-?}"
    verdict "handshake: weft's CPU per full handshake (client + server) below Go's" \
        "hs_full${hs_conns}_weft_both_cpu_us" "<" 1 "hs_full${hs_conns}_go_both_cpu_us"
    verdict "handshake: weft's CPU per resumed handshake (client + server) below Go's" \
        "hs_resumed${hs_conns}_weft_both_cpu_us" "<" 1 "hs_resumed${hs_conns}_go_both_cpu_us"
    verdict "handshake: weft's full handshakes/s above Go's" \
        "hs_full${hs_conns}_weft_handshakes_per_s" ">" 1 "hs_full${hs_conns}_go_handshakes_per_s"
}

# --- bulk -------------------------------------------------------------------------
bulk_run() {
    local impl=$1 prog=$2 round=$3 out
    [ -x "$bin/$prog" ] || return 0
    printf ' [%s bulk]' "$impl" >&2
    server_start "$bin/$prog" server 0 120 "$certs/server.crt" "$certs/server.key"
    if [ -n "$port" ]; then
        out=$(client "$bin/$prog" bulk "$port" "$certs/ca.crt" "$bulk_bytes" "$spid")
        keep "bulk_${impl}_" "$round" "$out"
        cipher "bulk_$impl" "$out"
    fi
    server_stop
    rm -f "$sout"
}

bulk_fmt='    %-14s %6s %-15s %5s %5s  %6s %-15s %5s  %6s %-15s %5s  %s\n'
bulk_row() {
    local k="bulk_$1_" w="bulk_weft_" m c s
    m=$(median "${k}mb_per_s")
    if [ -z "$m" ]; then
        printf '    %-14s %6s\n' "$2" "skipped"
        return
    fi
    c=$(median "${k}client_cpu_us") s=$(median "${k}server_cpu_us")
    printf "$bulk_fmt" "$2" \
        "$(fmt "$m")" "$(range "${k}mb_per_s")" "$(ratio "${w}mb_per_s" "${k}mb_per_s")" "$(paired "${w}mb_per_s" "${k}mb_per_s")" \
        "${c:+$(fmt "$c")}" "$(range "${k}client_cpu_us")" "$(ratio "${w}client_cpu_us" "${k}client_cpu_us")" \
        "${s:+$(fmt "$s")}" "$(range "${k}server_cpu_us")" "$(ratio "${w}server_cpu_us" "${k}server_cpu_us")" \
        "${ciphers[bulk_$1]:-}"
}

bulk_table() {
    printf '\nbulk — %s bytes through one TLS connection, client -> server of the same kind, 64 KiB writes;\n' "$bulk_bytes"
    printf '  MB/s (10^6 bytes; higher is better) from after the handshake to the server'"'"'s count, and CPU us per MB\n'
    printf '  on each side over the same span (lower is better)\n'
    printf "$bulk_fmt" "" "MB/s" "[min..max]" "weft/" "" \
        "client" "[min..max]" "weft/" "server" "[min..max]" "weft/" "negotiated"
    printf "$bulk_fmt" "" "median" "" "this" "pair" "us/MB" "" "this" "us/MB" "" "this" ""
    bulk_row weft "weft"
    bulk_row go "Go"
    verdict "bulk: weft's MB/s above Go's" bulk_weft_mb_per_s ">" 1 bulk_go_mb_per_s
}

# --- https fetch ---------------------------------------------------------------------
# listen_drops: connections dropped at a full listen queue (TcpExt ListenDrops), box-wide.
listen_drops() { awk '/^TcpExt:/ {if (!h) {for (i = 1; i <= NF; i++) f[$i] = i; h = 1} else print $f["ListenDrops"]}' /proc/net/netstat; }

https_run() {
    local label=$1 round=$2 out d0 d1
    shift 2
    [ -x "$1" ] || return 0
    printf ' [%s https]' "$label" >&2
    server_start "$bin/sleep_server" 0 120 "$certs/server.crt" "$certs/server.key"
    if [ -n "$port" ]; then
        d0=$(listen_drops)
        out=$(client "$@" "https://127.0.0.1:$port/" "$fetch_n" "$certs/ca.crt")
        d1=$(listen_drops)
        ((d1 > d0)) && out+=$'\n'"NOTE https $label: $((d1 - d0)) connections dropped at a full listen queue (box-wide count)"
        server_stop
        out+=$'\n'$(awk '/^INFO requests /{print "RESULT server_requests=" $3; print "RESULT server_cpu_ms=" $5}' "$sout")
        keep "https_${label}_" "$round" "$out"
    else
        server_stop
    fi
    rm -f "$sout"
}

https_row() {
    local k="https_$1_" w="https_weft_" wall c u
    wall=$(median "${k}wall_ms")
    if [ -z "$wall" ]; then
        printf '    %-22s %8s\n' "$2" "skipped"
        return
    fi
    c=$(median "${k}cpu_ms") u=$(median "${k}user_ms")
    printf '    %-22s %8s %-15s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "$2" \
        "$(fmt "$wall")" "$(range "${k}wall_ms")" "$(ratio "${w}wall_ms" "${k}wall_ms")" \
        "$(fmt "$c")" "$(range "${k}cpu_ms")" "$(ratio "${w}cpu_ms" "${k}cpu_ms")" "$(paired "${w}cpu_ms" "${k}cpu_ms")" \
        "$(awk -v u="$u" -v c="$c" 'BEGIN {if (c > 0) printf "%.0f%%", u * 100 / c}')" \
        "$(s=$(median "${k}server_cpu_ms"); [ -n "$s" ] && fmt "$s")"
}

https_table() {
    printf '\nhttps fetch — %s concurrent GETs to one Go net/http HTTPS server (HTTP/1.1, crypto/tls defaults)\n' "$fetch_n"
    printf '  whose handler sleeps 1 s; every connection a full handshake; wall and the client'"'"'s CPU time\n'
    printf '  (user + sys, every thread), ms, lower is better; user: its user-space share; server: its CPU ms\n'
    printf '    %-22s %8s %-15s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "client" "wall ms" "[min..max]" "weft/" \
        "CPU ms" "[min..max]" "weft/" "" "user" "server"
    printf '    %-22s %8s %-15s %5s  %8s %-15s %5s %5s  %4s  %7s\n' "" "median" "" "this" "median" "" "this" "pair" \
        "" "CPU ms"
    https_row weft "weft (fiber per GET)"
    https_row go "Go net/http"
    https_row aiohttp "asyncio + aiohttp"
    verdict "https: weft's client CPU <= Go's / 2" https_weft_cpu_ms "<=" 0.5 https_go_cpu_ms
    verdict "https: weft's client CPU <= aiohttp's / 5" https_weft_cpu_ms "<=" 0.2 https_aiohttp_cpu_ms
}

# --- the run ------------------------------------------------------------------------
want() { [[ " $parts " == *" $1 "* ]]; }
ulimit -n 20000 2>/dev/null || ulimit -n 8192 2>/dev/null || true
have_aiohttp=1
/usr/bin/python3 -c 'import aiohttp' 2>/dev/null || { have_aiohttp=0; say "/usr/bin/python3 cannot import aiohttp: its peer is skipped"; }
printf "machine: %s\n" "$(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r), $(openssl version), $(go version 2>/dev/null | cut -d' ' -f3); load $(cut -d' ' -f1-3 /proc/loadavg); servers: ${spin[*]:-unpinned}, clients: ${cpin[*]:-unpinned}"
t0=$SECONDS load0=$(cut -d' ' -f1 /proc/loadavg)
say "tls: $rounds rounds of: $parts"
for ((r = 1; r <= rounds; r++)); do
    printf '  round %d/%d:' "$r" "$rounds" >&2
    notes=""
    if want handshake; then
        for mode in full resumed; do
            hs_run weft weft_tls "$mode" "$hs_conns" "$r"
            hs_run go tls_go "$mode" "$hs_conns" "$r"
        done
        if [ "$hs_conns" != 1 ]; then
            hs_run weft weft_tls resumed 1 "$r"
            hs_run go tls_go resumed 1 "$r"
        fi
    fi
    if want bulk; then
        bulk_run weft weft_tls "$r"
        bulk_run go tls_go "$r"
    fi
    if want https && [ -x "$bin/sleep_server" ]; then
        https_run weft "$r" "$bin/weft_fetch_many"
        https_run go "$r" "$bin/fetch_go"
        [ $have_aiohttp = 1 ] && https_run aiohttp "$r" /usr/bin/python3 "$here/peers/fetch_aiohttp.py"
    fi
    printf '\n%s' "$notes" >&2
done
want handshake && hs_table
want bulk && bulk_table
want https && https_table
printf '  (tls: %d s; load average %s at the start, %s at the end)\n' $((SECONDS - t0)) "$load0" "$(cut -d' ' -f1 /proc/loadavg)"
