#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz/run_one.sh BINARY SEED_DIR [SECONDS]: runs one libFuzzer target for
# SECONDS (else $WEFT_FUZZ_SECONDS, else 30) on a temporary copy of its seed
# corpus, so that what it discovers never lands in the repository. A crash, a
# hang (an input taking over 5 s), a leak, a sanitizer report or (HTTP and DNS
# targets) an allocation or resident set past the limits below fails it; the
# input that did it is kept in the binary's directory (artifacts-NAME/) and
# printed in hex. Leak checks follow ASAN_OPTIONS (detect_leaks=0 turns them
# off, as scripts/test.sh does where LeakSanitizer cannot work). Ends with one
# line: "fuzz NAME: OK|FAILED, N runs in S s (R/s), corpus A -> B".
set -uo pipefail

bin=$1 seeds=$2 seconds=${3:-${WEFT_FUZZ_SECONDS:-30}}
name=$(basename "$bin")
name=${name#fuzz_}
artifacts="$(cd "$(dirname "$bin")" && pwd)/artifacts-$name"
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/" 2>/dev/null
seeded=$(find "$work/corpus" -type f | wc -l)

leaks=1
[[ ${ASAN_OPTIONS:-} == *detect_leaks=0* ]] && leaks=0
# UBSan reports must stop the run (by default it prints and carries on).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The targets that read what a peer sends (HTTP both ways and its content
# decoder, DNS) run with
# memory limits, so that a buffer a peer can grow without end is a finding:
# no allocation over 32 MiB (their limits are far below; a repeated input
# pours 64 MiB, fuzz/pieces.hpp) and no more than 1 GiB resident (ASan's
# quarantine included).
memory=(-rss_limit_mb=2048)
case $name in
    http_request | http_response | http_decode | dns_reply) memory=(-rss_limit_mb=1024 -malloc_limit_mb=32) ;;
esac

start=$SECONDS
"$bin" -max_total_time="$seconds" -timeout=5 "${memory[@]}" -detect_leaks=$leaks \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" >"$work/log" 2>&1
rc=$?
elapsed=$((SECONDS - start))
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
runs=${runs:-0}
rate=$((runs / (elapsed > 0 ? elapsed : 1)))
after=$(find "$work/corpus" -type f | wc -l)

if ((rc != 0)) || grep -qE '^==[0-9]+==ERROR|^SUMMARY: |runtime error:' "$work/log"; then
    # The report, and each input it left behind.
    grep -vE '^#[0-9]+\s' "$work/log" | tail -60
    for f in "$artifacts"/*; do
        [[ -f $f && $f -nt $work ]] || continue
        echo "input $f ($(stat -c %s "$f") bytes):"
        od -An -tx1 -v "$f" | head -40
    done
    echo "fuzz $name: FAILED (exit $rc) after $runs runs in $elapsed s, corpus $seeded -> $after"
    exit 1
fi
echo "fuzz $name: OK, $runs runs in $elapsed s ($rate/s), corpus $seeded -> $after, leak checks $( ((leaks)) && echo on || echo off)"
