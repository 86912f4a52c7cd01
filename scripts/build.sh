#!/usr/bin/env bash
# Sets up the machine and builds the `metaeikonal` CLI only (no tests, no benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target metaeikonal
