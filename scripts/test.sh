#!/usr/bin/env bash
# Set up, build and run the whole ghnas test suite (Check suites via CTest).
#   scripts/test.sh                     into build/
#   scripts/test.sh --sanitize          into build-san/ with AddressSanitizer + UBSan
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build"
extra=()
if [ "${1:-}" = --sanitize ]; then
    build_dir="$root/build-san"
    extra=(--sanitize)
fi
"$root/scripts/setup.sh" --tests --build-dir "$build_dir" "${extra[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure -j2
