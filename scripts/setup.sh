#!/usr/bin/env bash
# Installs the Debian 12 packages MetaEikonal needs (docs/DESIGN.md, Dependencies).
# Idempotent: returns at once when everything is already installed. libopenblas0-pthread
# replaces the reference BLAS that Debian's LibTorch is linked against (1.75x faster training
# episodes, bench/results/metapinn.md).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libeigen3-dev libvtk9-dev libcgal-dev nlohmann-json3-dev libspdlog-dev libfmt-dev zlib1g-dev
  libtorch-dev libopenblas0-pthread libnlopt-cxx-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgmsh-dev python3-vtk9 clang-format pybind11-dev python3-dev python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
