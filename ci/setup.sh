#!/usr/bin/env bash
# Installs what ix needs on a fresh Debian 12 machine, idempotently: DPDK 22.11 and
# the tools the tests drive. Both README commands call it; a second run does nothing.
set -euo pipefail

packages=(
    dpdk libdpdk-dev         # the EAL, PMDs (tap, memif, virtio_user, af_xdp) and headers
    libclang-dev clang       # bindgen for dataplane/dpdk-sys
    pkg-config build-essential
    iproute2 iputils-ping    # namespaces, veth, tap set-up; ping from the kernel side
    nftables                 # kernel-side packet drop in impaired-link tests (no netem here)
    tcpdump                  # reads the pcapng files ixctl capture writes
    netcat-openbsd           # `nc`, as in the reach line `ixctl start` prints
    ethtool
    memcached                # the reference server (loadgen e2e, behaviour checks)
    libmemcached-tools       # memccapable, memcaslap: real clients against memcached-ix
    python3-pip
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "ci/setup.sh: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "ci/setup.sh: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

# Python memcached clients for memcached-ix's scripted checks, into the python3 on
# PATH (pinned; pip is told it may touch a system Python).
if ! python3 -c "import pymemcache, bmemcached" >/dev/null 2>&1; then
    echo "ci/setup.sh: installing pymemcache and python-binary-memcached" >&2
    python3 -m pip install -q --break-system-packages "pymemcache==4.0.0" "python-binary-memcached==0.31.4" 2>/dev/null ||
        python3 -m pip install -q "pymemcache==4.0.0" "python-binary-memcached==0.31.4"
fi

pkg-config --atleast-version=22.11 libdpdk || {
    echo "ci/setup.sh: libdpdk >= 22.11 not found by pkg-config" >&2
    exit 1
}
