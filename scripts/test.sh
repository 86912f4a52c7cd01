#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (packages), configures, builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
# Tests run side by side (-j): OpenMP threads that wait must sleep, not spin, or a test with two
# threads crawls on a core another test holds (the Niederer test: 11 s alone, 67 s spinning beside one).
OMP_WAIT_POLICY=passive ctest --test-dir build --output-on-failure -j "$(nproc)"
