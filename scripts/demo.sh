#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh builds weft and runs its main demo. On a fresh Debian 12
# machine it first installs the Debian packages that are missing (as root, or
# through sudo). Arguments are passed to the demo.
set -euo pipefail

# The demo to run: build/demos/$DEMO. WEFT_DEMO=... picks another one.
DEMO=${WEFT_DEMO:-fetch_five}

packages=(meson ninja-build g++ pkg-config libboost-context-dev libboost-dev libc-ares-dev libssl-dev zlib1g-dev libbrotli-dev openssl ca-certificates catch2)

# shellcheck source=install_missing.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_missing.sh"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
install_missing "${packages[@]}"

# `build` is the demo build: optimized, without tests or benchmarks.
if [[ ! -f build/meson-private/coredata.dat ]]; then
    rm -rf build
    meson setup build --buildtype=release -Dtests=false -Dbench=false -Ddemos=true
elif ! grep -q "^demos/$DEMO:" <<<"$(ninja -C build -t targets all 2>/dev/null || true)"; then
    meson configure build -Ddemos=true  # someone configured `build` without demos
fi
ninja -C build "demos/$DEMO"
echo
exec "build/demos/$DEMO" "$@"
