#!/usr/bin/env bash
# Makes sure the three system libraries hasskit links against are installed: libcurl (downloads),
# zstd (packing) and OpenBLAS (GEMM), with pkg-config to find them; and unzip for the tests' setup.
# As root it installs what is missing with apt-get; otherwise it prints the exact command.
set -euo pipefail

packages=(pkg-config libcurl4-openssl-dev libzstd-dev libopenblas-dev unzip)

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)  # the test setup unpacks a model from a wheel
for pc in libcurl:libcurl4-openssl-dev libzstd:libzstd-dev openblas:libopenblas-dev; do
    name=${pc%%:*}
    pkg=${pc##*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$name"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${packages[@]}" >/dev/null
else
    echo "hasskit needs: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
