#!/usr/bin/env bash
# Renders an HTML file (e.g. an evaluation report) in headless Chromium to a PNG, so a person
# can look at what xraykit shows. usage: scripts/screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
html="$(realpath "$1")"
out="$2"
size="${3:-1200x1900}"
command -v chromium >/dev/null || { echo "install Debian's chromium first (apt-get install chromium)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --no-first-run --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$out" "file://$html" 2>/dev/null
echo "$out"
