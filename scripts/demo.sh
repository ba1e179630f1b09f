#!/usr/bin/env bash
# The main job: set up, build, and run xraykit on the real data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# Trains, evaluates, writes an HTML report and predicts, on ../shared/data (or $XRAYKIT_DATA),
# or on a synthetic set when neither exists. Outputs land in ./xraykit-demo.
exec build/bin/xraykit demo "$@"
