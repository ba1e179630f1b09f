#!/usr/bin/env bash
# The main job: set up, build, and run xraykit on the real data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
data="${XRAYKIT_DATA:-../shared/data/chest_xray/train}"
exec build/bin/xraykit dataset "$data"
