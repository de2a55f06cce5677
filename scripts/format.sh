#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/format.sh [--fix] [ROOT] — checks that every C++ file of weft is laid
# out as .clang-format says (the test command runs it as the 'format' test);
# with --fix, lays them out so. Lists each file that differs and how to fix it.
set -euo pipefail

fix=0
if [ "${1:-}" = --fix ]; then
    fix=1
    shift
fi
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (apt-get install clang-format)" >&2; exit 77; }

# The tracked sources (a clone), or every source under the tree (a copy without .git).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | grep -v '^tests/consumer/\|^subprojects/')
else
    mapfile -t files < <(find lib include tests demos bench fuzz -name '*.cpp' -o -name '*.hpp' | grep -v '^tests/consumer/')
fi

if [ "$fix" = 1 ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "format.sh: $f is not laid out as .clang-format says"
        bad=1
    fi
done
if [ "$bad" = 1 ]; then
    echo "format.sh: run scripts/format.sh --fix, and commit what it changes" >&2
    exit 1
fi
echo "format.sh: ${#files[@]} files laid out as .clang-format says"
