#!/usr/bin/env bash
# Installs every Debian package baimo needs to build, test and benchmark. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-openmp-dev libomp-dev
  libfmt-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libutf8proc-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
  python3-torch python3-numpy python3-sentencepiece python3-jinja2
  nodejs
  chromium fonts-wqy-microhei

)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
