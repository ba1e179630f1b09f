#!/usr/bin/env bash
# The C++ and C test programs under sanitizers (issue 12), in their own build folder:
#   bash scripts/sanitize.sh                 # AddressSanitizer + UndefinedBehaviorSanitizer
#   bash scripts/sanitize.sh thread          # ThreadSanitizer (xraykit's own locking only)
# Runs the doctest suite (without tests/test_real_training.cpp, which takes far too long under
# ASan; further arguments go to doctest), the web unit tests, the C ABI tests and the Python
# tests (Debian's python3 with the sanitizer's runtime preloaded; under TSan only the tests
# with threads) and, under ASan, the web app's HTTP tests against the instrumented server, and
# fails on the first report. LibTorch and Python themselves are not
# instrumented: what is checked is xraykit's own code.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-address,undefined}"
dir="build-${kind//,/-}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXRAYKIT_SANITIZE="$kind" \
  -DXRAYKIT_BUILD_BENCH=OFF -DXRAYKIT_BUILD_PYTHON=ON -DXRAYKIT_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$dir" --parallel "$(nproc)" --target xraykit_tests xraykit_web_tests test_capi_errors _xraykit xraykit_cli
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"   # LibTorch's one-time allocations look like leaks
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
shift $(( $# > 0 ? 1 : 0 ))
if [ "$kind" = thread ]; then
  # LibTorch and OpenMP are not instrumented, so TSan reports their own synchronisation as
  # races: only the tests of xraykit's own threads and locking run under it (the model's
  # read/write lock, the augmentation workers, the dataset's decoding threads, the web app's
  # limiter and gate, the C ABI's handle registry, Python's concurrency tests).
  "$dir/tests/xraykit_tests" -tc='*other threads*,*augmentation workers*' "$@"
  "$dir/tests/xraykit_tests" -sf='*test_dataset.cpp' "$@"
else
  "$dir/tests/xraykit_tests" -sfe='*test_real_training*' "$@"
fi
"$dir/tests/xraykit_web_tests"
"$dir/tests/test_capi_errors"
runtime=asan
[ "$kind" = thread ] && runtime=tsan
python_tests=(python/tests)
[ "$kind" = thread ] && python_tests=(python/tests -k thread)
# -s: a sanitizer that halts writes its report to stderr, which pytest would otherwise have
# captured and never shown (the run ended with status 66 and no word). libstdc++ too: python3 is C, and a runtime loaded before any C++ library cannot find the
# real __cxa_throw for its interceptor (ASan's CHECK fails at the first C++ exception).
LD_PRELOAD="$(gcc -print-file-name=lib$runtime.so) $(gcc -print-file-name=libstdc++.so.6)" PYTHONPATH="$dir/python" \
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider -x "${python_tests[@]}"
if [ "$kind" != thread ]; then
  # The web app's HTTP tests against the instrumented server. Its reports go to files, so that
  # one made by a server a test was stopping is not lost with that server's output.
  reports="$(mktemp -d)"
  ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$reports/asan" UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan" \
    XRAYKIT_BIN="$PWD/$dir/bin/xraykit" /usr/bin/python3 -m pytest -q -p no:cacheprovider -x tests/web
  if compgen -G "$reports/*" > /dev/null; then
    cat "$reports"/* >&2
    echo "the server under test made sanitizer reports (above)" >&2
    exit 1
  fi
  rm -rf "$reports"
fi
echo "sanitizers ($kind): clean"
