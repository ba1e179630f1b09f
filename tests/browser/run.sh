#!/usr/bin/env bash
# End-to-end browser test: a model trained on the real data (a quarter of it, 128 px, one
# epoch), served by `xraykit serve`, used through headless Debian chromium to classify a
# folder of 300 other images (classify.mjs).
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

mkdir -p "$work/data/NORMAL" "$work/data/PNEUMONIA"
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 4 == 0' | while read -r f; do ln -s "$data/$cls/$f" "$work/data/$cls/$f"; done
done
"$xk" train "$work/data" -o "$work/model.xrk" --size 128 --epochs 1 > "$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
grep "ROC AUC" "$work/train.log"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="browser-test-$RANDOM"
XRAYKIT_PASSWORD="$password" "$xk" serve "$work/model.xrk" --port "$port" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done

# 150 images of each class that the model did not train on (it took every fourth file from the
# fourth on; these are the files after those).
mkdir -p "$work/classify/NORMAL" "$work/classify/PNEUMONIA" "$shots"
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 4 == 1 && ++n <= 150' | while read -r f; do cp "$data/$cls/$f" "$work/classify/$cls/"; done
done
node "$here/classify.mjs" "http://127.0.0.1:$port" "$password" "$work/classify" 300 "$shots"
echo "screenshots: $shots"
