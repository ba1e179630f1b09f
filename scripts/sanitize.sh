#!/usr/bin/env bash
# The C++ and C test programs under sanitizers (issue 12), in their own build folder:
#   bash scripts/sanitize.sh                 # AddressSanitizer + UndefinedBehaviorSanitizer
#   bash scripts/sanitize.sh thread          # ThreadSanitizer (xraykit's own locking only)
# Runs the doctest suite (without tests/test_real_training.cpp, which takes far too long under
# ASan; further arguments go to doctest), the web unit tests and the C ABI tests, and fails on
# the first report. LibTorch itself
# is not instrumented: what is checked is xraykit's own code.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-address,undefined}"
dir="build-${kind//,/-}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXRAYKIT_SANITIZE="$kind" \
  -DXRAYKIT_BUILD_BENCH=OFF -DXRAYKIT_BUILD_PYTHON=OFF -DXRAYKIT_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$dir" --parallel "$(nproc)" --target xraykit_tests xraykit_web_tests test_capi_errors
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"   # LibTorch's one-time allocations look like leaks
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
shift $(( $# > 0 ? 1 : 0 ))
if [ "$kind" = thread ]; then
  # LibTorch and OpenMP are not instrumented, so TSan reports their own synchronisation as
  # races: only the tests of xraykit's own locking run under it (the model's read/write lock,
  # the web app's limiter and gate, the C ABI's handle registry).
  "$dir/tests/xraykit_tests" -tc='*other threads*' "$@"
else
  "$dir/tests/xraykit_tests" -sfe='*test_real_training*' "$@"
fi
"$dir/tests/xraykit_web_tests"
"$dir/tests/test_capi_errors"
echo "sanitizers ($kind): clean"
