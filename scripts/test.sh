#!/usr/bin/env bash
# Every test: set up, build, and run the whole suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
# ctest runs one test per core. Tests that each took a Torch thread per core oversubscribed the
# machine, and OpenMP's waiting threads made two such tests together 5x slower than one after
# the other; one thread per test keeps every core busy with work (xraykit's default thread
# count follows OMP_NUM_THREADS).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
