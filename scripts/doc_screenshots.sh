#!/usr/bin/env bash
# The screenshots in docs/deploy.md: the browser tests' flow (tests/browser/studio.mjs, then
# classify.mjs) run on synthetic chest-X-ray-like images made here, so that no image of the
# real dataset (or any copy of one) ends up in the repository.
# usage: bash scripts/doc_screenshots.sh [BUILD_DIR]     -> docs/images/*.png
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
browser="$here/tests/browser"
[ -d "$browser/node_modules/playwright-core" ] || (cd "$browser" && npm install --no-audit --no-fund --loglevel=error)
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Two lungs with ribs over a soft background; PNEUMONIA adds a bright patch in one lung.
/usr/bin/python3 - "$work" <<'PY'
import pathlib, struct, sys, zlib
import numpy as np

def png(path, a):
    raw = b"".join(b"\0" + row.tobytes() for row in a)
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def xray(rng, sick):
    n = 160
    y, x = np.mgrid[0:n, 0:n] / n
    img = 150 + 60 * np.exp(-((x - 0.5) ** 2) / 0.02) - 40 * y
    for cx in (0.32, 0.68):
        cx += rng.normal(0, 0.02)
        lung = ((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.3) ** 2 < 1
        img[lung] -= 80
        img[lung & (np.sin(y * 60 + rng.uniform(0, 6)) > 0.7)] += 25  # ribs
    if sick:
        cx, cy = rng.choice([0.32, 0.68]), rng.uniform(0.45, 0.7)
        img += rng.uniform(15, 110) * np.exp(-(((x - cx) ** 2) + (y - cy) ** 2) / rng.uniform(0.004, 0.02))
    img += rng.normal(0, 14, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)

work = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(7)
for folder, count in (("train/synthetic", 300), ("classify", 150)):
    for cls in ("NORMAL", "PNEUMONIA"):
        (work / folder / cls).mkdir(parents=True)
        for i in range(count):
            name = f"person{i}_virus_{i}.png" if cls == "PNEUMONIA" else f"IM-{i:04d}-0001.png"
            png(work / folder / cls / name, xray(rng, cls == "PNEUMONIA"))
PY
(cd "$work/train" && /usr/bin/python3 -m zipfile -c "$work/synthetic.zip" synthetic)

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
XRAYKIT_PASSWORD="screenshot classify password" XRAYKIT_ADMIN_PASSWORD="screenshot studio password" \
  "$build/bin/xraykit" serve --port "$port" --studio "$work/studio" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
mkdir -p "$work/shots" "$here/docs/images"
node "$browser/studio.mjs" "http://127.0.0.1:$port" "screenshot studio password" "$work/synthetic.zip" 128 "$work/shots" 3
node "$browser/classify.mjs" "http://127.0.0.1:$port" "screenshot classify password" "$work/classify" 300 "$work/shots" 3
# JPEG at 900 px wide: readable, and a tenth of the PNGs' size.
/usr/bin/python3 - "$work/shots" "$here/docs/images" <<'PY'
import pathlib, sys
from PIL import Image
shots, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for name in ("studio-1-data", "studio-2-training", "studio-3b-review", "1-login", "2-results", "3-heatmap"):
    img = Image.open(shots / f"{name}.png").convert("RGB")
    img = img.resize((900, round(img.height * 900 / img.width)), Image.LANCZOS)
    img.save(out / f"{name}.jpg", quality=80, optimize=True)
PY
ls -l "$here/docs/images"
