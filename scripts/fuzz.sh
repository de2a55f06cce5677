#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/fuzz.sh [SECONDS]: builds weft's libFuzzer targets (fuzz/) with clang
# under AddressSanitizer + UndefinedBehaviorSanitizer in build-fuzz, and runs
# each for SECONDS (default 30), as many at once as there are cores, on a
# temporary copy of its seed corpus (fuzz/corpus/NAME). A crash, a hang (an
# input taking over 5 s), a leak or a sanitizer report fails the target; the
# input is kept in build-fuzz/fuzz/artifacts-NAME/. Prints one line per target
# and exits non-zero when any failed. scripts/test.sh runs the same targets
# (30 s each) as its build-fuzz suite.
set -uo pipefail

packages=(meson ninja-build clang libclang-rt-14-dev pkg-config libboost-context-dev libboost-dev
          libc-ares-dev libssl-dev zlib1g-dev libbrotli-dev)

# shellcheck source=install_missing.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_missing.sh"

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
seconds=${1:-30}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
install_missing "${packages[@]}" || { echo "fuzz.sh: could not install clang" >&2; exit 1; }

dir=build-fuzz
opts=(-Ddebug=true -Doptimization=1 -Db_sanitize=address,undefined -Db_lundef=false
      -Dfuzz=true -Dtests=false -Ddemos=false -Dbench=false)
if [[ -f $dir/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null || CXX=clang++ meson setup --wipe "$dir" "${opts[@]}"
else
    rm -rf "$dir"
    CXX=clang++ meson setup "$dir" "${opts[@]}" >/dev/null
fi || exit 1
ninja -C "$dir" || exit 1

# LeakSanitizer needs ptrace; where it cannot work, leak checks are turned off
# (saying so) rather than failing every target.
probe=$(mktemp -d "${TMPDIR:-/tmp}/weft-lsan.XXXXXX")
printf '#include <cstdlib>\nvoid* volatile p;\nint main() { p = std::malloc(64); p = nullptr; }\n' >"$probe/leak.cpp"
if clang++ -fsanitize=address "$probe/leak.cpp" -o "$probe/leak" 2>/dev/null &&
    ! "$probe/leak" >"$probe/log" 2>&1 && grep -q 'detected memory leaks' "$probe/log"; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
else
    echo "fuzz.sh: LeakSanitizer does not work here; leak checks are OFF"
    export ASAN_OPTIONS=detect_leaks=0
fi
rm -rf "$probe"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

targets=(url address http_response http_request dns_reply tls_client http_decode)
logs=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuzz-logs.XXXXXX")
trap 'rm -rf "$logs"' EXIT
echo "fuzz.sh: ${#targets[@]} targets, $seconds s each, $(nproc) at a time"
printf '%s\n' "${targets[@]}" |
    xargs -P "$(nproc)" -I{} sh -c \
        'fuzz/run_one.sh "$1/fuzz/fuzz_$2" "fuzz/corpus/$2" "$3" >"$4/$2.log" 2>&1; echo $? >"$4/$2.rc"' \
        sh "$dir" {} "$seconds" "$logs"
failed=0
for t in "${targets[@]}"; do
    if [[ $(cat "$logs/$t.rc" 2>/dev/null) != 0 ]]; then
        failed=$((failed + 1))
        sed '$d' "$logs/$t.log"  # the report; its last line follows
    fi
    tail -1 "$logs/$t.log"
done
((failed == 0))
