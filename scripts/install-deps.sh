#!/usr/bin/env bash
# Installs the Debian 12 packages Kintsugi needs to build and test.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake ninja-build pkg-config
  libssl-dev libsodium-dev libzstd-dev libxxhash-dev libisal-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libcurl4-openssl-dev libxml2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  attr acl time
  # A throw-away Ceph cluster for the RADOS and S3 tests, and librados.
  ceph-mon ceph-osd ceph-common radosgw librados-dev libradospp-dev python3
)
if [ "${KS_WITH_PEERS:-0}" = "1" ]; then PKGS+=(restic borgbackup); fi
if [ "${KS_WITH_FUZZ:-0}" = "1" ]; then PKGS+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
