#!/usr/bin/env bash
# End-to-end browser test of the no-code flow on the real data, in headless Debian chromium:
# `xraykit serve --studio` starts with the shipped model; the studio (studio.mjs) gets a quarter
# of the data as an uploaded zip, trains one epoch on it at 128 px and publishes the model; the classify page (classify.mjs)
# then classifies a folder of 300 other images with that model and downloads the CSV.
# usage: run.sh XRAYKIT_BINARY DATA_DIR SCREENSHOT_DIR
set -euo pipefail
xk="$1"; data="$2"; shots="$3"
here="$(cd "$(dirname "$0")" && pwd)"
[ -x /usr/bin/chromium ] || { echo "chromium is missing: run scripts/setup.sh"; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
fi
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The upload: a zip of a quarter of the data in one top folder, as a user would zip a folder.
mkdir -p "$work/root" "$work/quarter/NORMAL" "$work/quarter/PNEUMONIA"
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 4 == 0' | while read -r f; do ln -s "$data/$cls/$f" "$work/quarter/$cls/$f"; done
done
(cd "$work" && /usr/bin/python3 -m zipfile -c quarter.zip quarter)

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="browser-test-$RANDOM-classify"
admin="browser-test-$RANDOM-studio"
XRAYKIT_PASSWORD="$password" XRAYKIT_ADMIN_PASSWORD="$admin" "$xk" serve --port "$port" --studio "$work/studio" \
  --data-root "$work/root" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
mkdir -p "$shots"
node "$here/studio.mjs" "http://127.0.0.1:$port" "$admin" "$work/quarter.zip" 128 "$shots" || { cat "$work/serve.log"; exit 1; }

# 150 images of each class that the model did not train on (it took every fourth file from the
# fourth on; these are the files after those).
mkdir -p "$work/classify/NORMAL" "$work/classify/PNEUMONIA"
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 4 == 1 && ++n <= 150' | while read -r f; do cp "$data/$cls/$f" "$work/classify/$cls/"; done
done
node "$here/classify.mjs" "http://127.0.0.1:$port" "$password" "$work/classify" 300 "$shots" 1
echo "screenshots: $shots"
