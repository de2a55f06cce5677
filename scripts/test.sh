#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/test.sh builds weft and runs its whole test suite twice, its threaded
# tests a third time, then fuzzes it:
#   build-test  a normal build (debugoptimized)
#   build-asan  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan  the 'threads' suite under ThreadSanitizer
#   build-fuzz  each libFuzzer target of fuzz/ for 30 s (clang, ASan+UBSan)
# On a fresh Debian 12 machine it first installs the Debian packages that are
# missing (as root, or through sudo). Arguments are passed to `meson test`
# (test names, --suite ...; with arguments the TSan suite and the fuzz
# targets do not run).
# The last line printed is always
#   N passed, N failed[, N skipped]
# summed over the builds; a build that fails counts as one failed test. The
# exit status is 0 only when nothing failed.
set -uo pipefail

packages=(meson ninja-build g++ pkg-config libboost-context-dev libboost-dev libc-ares-dev libssl-dev zlib1g-dev libbrotli-dev openssl ca-certificates catch2 cmake
          valgrind python3 tinyproxy clang-format gdb)
# dns_burst_test runs a real dnsmasq: dnsmasq-base is its binary alone (the
# dnsmasq package would also start a system service on port 53).
packages+=(dnsmasq-base)

# shellcheck source=install_missing.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_missing.sh"

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if ! install_missing "${packages[@]}"; then
    echo "test.sh: could not install the packages weft needs" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

broken=()   # "DIR: what failed" for each build that could not run its tests
suites=()   # build dirs whose testlog.json is counted
timings=()  # "DIR: N s"

# suite DIR SETUP_OPTION...: configures DIR (again, if it exists, so changed
# options apply), builds it and runs every test in it. With suite_only=NAME
# it builds and runs only the tests of the meson suite NAME.
suite_only=
suite() {
    local dir=$1 start=$SECONDS
    shift
    echo
    echo "=== $dir: configure and build"
    rm -f "$dir/meson-logs/testlog.json"
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi || { broken+=("$dir: meson setup failed"); timings+=("$dir: $((SECONDS - start)) s"); return; }
    local targets=() select=()
    if [[ -n $suite_only ]]; then
        select=(--suite "$suite_only")
        # The executables of that suite's tests, as ninja targets.
        mapfile -t targets < <(meson introspect "$dir" --tests | python3 -c '
import json, os, sys
build, suite = os.path.realpath(sys.argv[1]), sys.argv[2]
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == suite for s in t["suite"]):
        print(os.path.relpath(t["cmd"][0], build))' "$dir" "$suite_only")
        if ((${#targets[@]} == 0)); then
            broken+=("$dir: no test in suite $suite_only")
            timings+=("$dir: $((SECONDS - start)) s")
            return
        fi
    fi
    if ! ninja -C "$dir" "${targets[@]}"; then
        broken+=("$dir: build failed")
        timings+=("$dir: $((SECONDS - start)) s")
        return
    fi
    echo
    echo "=== $dir: test"
    meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 "${test_args[@]}" "${select[@]}"
    if [[ -f $dir/meson-logs/testlog.json ]]; then
        suites+=("$dir")
    else
        broken+=("$dir: meson test wrote no testlog.json")
    fi
    timings+=("$dir: $((SECONDS - start)) s")
}

test_args=("$@")

# Warnings are errors in the two main builds (-Wall -Wextra, meson's
# warning_level=2): a warning is fixed when it appears, not collected.
suite build-test --buildtype=debugoptimized -Dwerror=true -Dtests=true -Ddemos=true -Dbench=false

# Sanitizer errors must fail the test that hits them: UBSan stops at the first
# report (by default it prints and carries on), ASan already does.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
# LeakSanitizer stops the world with ptrace; where ptrace is forbidden (some
# containers: no CAP_SYS_PTRACE, seccomp, or the process runs under a tracer)
# every leak check dies with "LeakSanitizer has encountered a fatal error" and
# would fail every test. So check once that it works here, and turn leak
# detection off, saying so, when it does not.
lsan_probe=$(mktemp -d "${TMPDIR:-/tmp}/weft-lsan.XXXXXX")
printf '#include <cstdlib>\nvoid* volatile p;\nint main() { p = std::malloc(64); p = nullptr; }\n' \
    >"$lsan_probe/leak.cpp"
if g++ -fsanitize=address "$lsan_probe/leak.cpp" -o "$lsan_probe/leak" 2>"$lsan_probe/log" &&
    ! "$lsan_probe/leak" >>"$lsan_probe/log" 2>&1 &&
    grep -q 'detected memory leaks' "$lsan_probe/log"; then
    echo "test.sh: LeakSanitizer works here; leak detection is on"
else
    echo "test.sh: LeakSanitizer does not work here (ptrace restricted?); leak detection is OFF:"
    sed 's/^/    /' "$lsan_probe/log" | head -5
    export ASAN_OPTIONS=detect_leaks=0
fi
rm -rf "$lsan_probe"

# The sanitizer build is unoptimized: with -fsanitize=address,undefined GCC 12
# spends ~7x longer on Catch2's main at -O2 than at -O0 (216 s against 32 s of
# CPU, measured), which alone would blow the time budget on two cores. The
# million-fiber tests (slow_tests) stay in the normal build: under ASan every
# stack is 4x larger and every switch slower, for no extra coverage.
suite build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dtests=true -Ddemos=false -Dbench=false -Dslow_tests=false

# ThreadSanitizer runs the tests that use threads (the meson suite
# 'threads': cross-thread wake-up, to_thread, shared_channel, run on N
# threads and spawn_on), and builds only them: the rest is single-threaded,
# which ASan already covers (a test joins the suite with a third field in
# tests/meson.build's weft_tests). weft announces every fiber switch to TSan
# (lib/detail/context.hpp), so fibers are not mistaken for racing threads.
# debugoptimized: TSan's slowdown on -O0 code is several times larger, and
# only the library and the suite's tests are compiled here.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
if ((${#test_args[@]})); then
    echo; echo "=== build-tsan: skipped (test arguments given)"
else
    suite_only=threads suite build-tsan --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
        -Dtests=true -Ddemos=false -Dbench=false -Dslow_tests=false
fi

# The fuzz targets (fuzz/, scripts/fuzz.sh): each runs 30 s on a copy of its
# seed corpus; a crash, an input taking over 5 s, a leak (as above) or a
# sanitizer report fails it. They need clang, installed here when missing.
if ((${#test_args[@]})); then
    echo; echo "=== build-fuzz: skipped (test arguments given)"
elif ! install_missing clang libclang-rt-14-dev; then
    echo; echo "=== build-fuzz: skipped (clang and libclang-rt-14-dev could not be installed)"
else
    CXX=clang++ suite build-fuzz -Ddebug=true -Doptimization=1 -Db_sanitize=address,undefined \
        -Db_lundef=false -Dfuzz=true -Dtests=false -Ddemos=false -Dbench=false
fi

echo
echo "=== summary"
for t in "${timings[@]}"; do echo "time  $t"; done
for b in "${broken[@]}"; do echo "FAILED  $b"; done
# testlog.json holds one JSON object per test; "result" is OK, FAIL, SKIP,
# TIMEOUT, EXPECTEDFAIL, UNEXPECTEDPASS or ERROR.
python3 - "${#broken[@]}" "${suites[@]}" <<'EOF'
import json, sys

passed, failed, skipped = 0, int(sys.argv[1]), 0
for d in sys.argv[2:]:
    with open(f"{d}/meson-logs/testlog.json") as log:
        for line in log:
            if not line.strip():
                continue
            try:
                t = json.loads(line)
            except ValueError:
                t = {"name": "(unreadable testlog line)", "result": "ERROR"}
            result = t.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED  {d}: {t.get('name')} ({result})")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
EOF
