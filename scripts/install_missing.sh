# SPDX-License-Identifier: MIT
# Sourced by scripts/demo.sh and scripts/test.sh.
# install_missing PKG...: apt-get installs the Debian packages dpkg does not have
# (as root, or through sudo); returns non-zero when that fails.
install_missing() {
    local missing=() p sudo=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "$(basename "$0"): installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}
