#!/usr/bin/env bash
# Issue 14: notebook users install the Python module with pip, with no network. Builds it with
# `pip install --no-build-isolation ./python` against this build tree into a fresh venv, then
# imports it there (not the build tree's copy) and classifies an image with the shipped model.
# usage: tests/pip/pip_venv.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --system-site-packages: numpy comes from Debian (python3-numpy); there is no PyPI here.
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# A copy of python/, so that the build leaves nothing in the source tree.
cp -r "$src/python" "$work/python"
rm -rf "$work/python/tests"
XRAYKIT_BUILD_DIR="$build" "$work/venv/bin/python" -m pip install -q --no-build-isolation --no-index \
  --no-cache-dir "$work/python"
cd "$work"  # away from the sources, so that only the installed module can be imported
env -u PYTHONPATH "$work/venv/bin/python" - "$work/venv" <<'PY'
import sys
import numpy as np
import xraykit
venv = sys.argv[1]
assert xraykit.__file__.startswith(venv), f"imported {xraykit.__file__}, not the venv's"
model = xraykit.ResNetClassifier.load()  # the shipped model, found beside libxraykit
yy, xx = np.mgrid[0:224, 0:224]
image = (128 + 60 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.uint8)
p = model.predict(image)
assert set(p) >= {"label", "class_name", "probabilities"}, p
assert abs(sum(p["probabilities"]) - 1) < 1e-4, p
try:
    xraykit.ResNetClassifier.load(venv + "/no-such-model.xrk")
    raise SystemExit("a missing model file was not refused")
except (FileNotFoundError, OSError, xraykit.Error) as e:
    assert "no-such-model.xrk" in str(e), e
print("pip venv OK:", xraykit.__file__, p["class_name"])
PY
