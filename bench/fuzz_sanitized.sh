#!/usr/bin/env bash
# The fuzz tests of every torch-free reader (ctest -R fuzz) under AddressSanitizer and
# UndefinedBehaviorSanitizer, in a separate build directory (not part of .ci/run: it builds the
# torch-free libraries again with instrumentation, which takes longer than CI allows).
#
#   bash bench/fuzz_sanitized.sh [BUILD_DIR]      (default build-sanitize; JOBS=N for parallel builds)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-sanitize}"
jobs="${JOBS:-1}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMETAEIK_SANITIZE=ON \
  -DMETAEIK_WITH_TORCH=OFF -DMETAEIK_BUILD_BENCH=OFF
nice -n 19 ninja -C "$build" -j "$jobs" core_tests geometry_tests eikonal_tests monodomain_tests

# Leak checking is off: VTK keeps singletons alive until exit. Any ASan or UBSan report aborts the test.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$build"
nice -n 19 ctest -R fuzz --output-on-failure
