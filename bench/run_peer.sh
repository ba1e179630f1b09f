#!/usr/bin/env bash
# Runs xraykit's model benchmark and the torchvision peer one after the other, in one go,
# so their ratio is measured under the same conditions. usage: bench/run_peer.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
here="$(cd "$(dirname "$0")" && pwd)"
"$build/bench/bench_model" --benchmark_format=json > /tmp/xraykit-bench.json
/usr/bin/python3 "$here/peer_torchvision.py" > /tmp/peer-bench.json
/usr/bin/python3 - <<'PY'
import json
ours = {b["name"].split("/min_time")[0]: b["items_per_second"] for b in json.load(open("/tmp/xraykit-bench.json"))["benchmarks"]}
peer = {}
for line in open("/tmp/peer-bench.json"):
    d = json.loads(line)
    if "bench" in d:
        peer[d["bench"]] = d["images_per_second"]
names = {"inference/128": "BM_Inference/128", "inference/224": "BM_Inference/224",
         "train_epoch/128/fp32": "BM_TrainEpoch/128/0/iterations:1", "train_epoch/128/bf16": "BM_TrainEpoch/128/1/iterations:1"}
print(f"{'work (ResNet-18, batch 32, 1 channel)':<40} {'xraykit img/s':>14} {'torchvision img/s':>18} {'ratio':>7}")
for k, ours_name in names.items():
    o = ours.get(ours_name)
    p = peer.get(k)
    if o and p:
        print(f"{k:<40} {o:>14.1f} {p:>18.1f} {o / p:>7.2f}")
PY
