#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fetch_five_smoke.sh FETCH_FIVE: the demo prints five "Waiting for" lines,
# five "Result: Hello!" lines and its cost, and takes about one 3 s delay,
# not five (a smoke test: the figure belongs to bench/).
set -u
exe=$1
start=$(date +%s%N)
out=$(timeout 30 "$exe" 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
printf '%s\n' "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ $rc -eq 0 ] || fail "exit status $rc"
[ "$(grep -c '^Waiting for http://127\.0\.0\.1:[0-9]*/$' <<<"$out")" -eq 5 ] || fail "not five Waiting lines"
[ "$(grep -c '^Get response from http://127\.0\.0\.1:[0-9]*/ Result: Hello!$' <<<"$out")" -eq 5 ] ||
    fail "not five results"
grep -q '^Cost time: 3\.[0-9]* s$' <<<"$out" || fail "no 'Cost time: 3.x s' line"
[ $ms -lt 4500 ] || fail "took $ms ms (five in parallel should take about 3000)"
[ $ms -ge 3000 ] || fail "took $ms ms, less than the server's 3 s delay"
echo "ok: $ms ms"
