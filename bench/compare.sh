#!/usr/bin/env bash
# xraykit against the textbook and the savvy PyTorch-Python peers, in one run on the same
# data, architecture (ResNet-18) and resolution (128 px), so that the ratios mean something
# on a noisy machine. Prints a markdown table (docs/performance.md shows one).
#
# usage: bench/compare.sh [BUILD_DIR] [DATA]        (DATA: chest_xray/train; needs the real data)
#   QUICK=1 skips the training rows (minutes each).
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
data="${2:-${XRAYKIT_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/chest_xray/train}}"
here="$(cd "$(dirname "$0")" && pwd)"
xrk="$build/bin/xraykit"
py=/usr/bin/python3
work="$(mktemp -d /tmp/xraykit-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT
full="$(dirname "$(dirname "$data")")/fullres_sample"

# Inputs: the patient-disjoint split, 500 validation JPEGs (224 px), the full-size radiographs,
# and a 128 px ResNet-18 model file (random weights: speed does not depend on them).
"$xrk" dataset "$data" --size 32 --write-split "$work/split" > /dev/null
mkdir -p "$work/files224" "$work/fullsize"
sed -n '2,501p' "$work/split/val.csv" | cut -d, -f1 | while read -r f; do ln -s "$f" "$work/files224/"; done
find "$full" -name '*.jpeg' -exec ln -s {} "$work/fullsize/" \;
PYTHONPATH="$build/python" $py -c "import xraykit; xraykit.ResNetClassifier('resnet18', ['NORMAL', 'PNEUMONIA'], image_size=128).save('$work/m.xrk')"

wall() {  # seconds of wall time and peak RSS (MiB) of a command: "SECONDS MIB"
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  awk '{printf "%s %.0f\n", $1, $2 / 1024}' "$work/time"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# xraykit's default precision, training and fast inference alike: bf16 where the CPU has AVX512-BF16.
bf16=$(grep -q avx512_bf16 /proc/cpuinfo && echo yes || echo no)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

n224=$(ls "$work/files224" | wc -l)
nfull=$(ls "$work/fullsize" | wc -l)
echo "| work | xraykit | textbook PyTorch | savvy PyTorch | vs textbook | vs savvy |"
echo "|---|---|---|---|---|---|"
for set in files224 fullsize; do
  n=$([ $set = files224 ] && echo "$n224" || echo "$nfull")
  read -r xs xm < <(wall "$xrk" predict "$work/m.xrk" "$work/$set")
  read -r ts _ < <(wall $py "$here/peer_predict.py" textbook "$work/$set")
  read -r ss _ < <(wall $py "$here/peer_predict.py" savvy "$work/$set")
  label=$([ $set = files224 ] && echo "predict $n 224-px JPEGs" || echo "predict $n full-size radiographs")
  echo "| $label, wall s (img/s), start-up included | $xs ($(rate "$n" "$xs")), ${xm} MiB | $ts ($(rate "$n" "$ts")) | $ss ($(rate "$n" "$ss")) | $(ratio "$ts" "$xs") | $(ratio "$ss" "$xs") |"
done

if [ "${QUICK:-0}" != 1 ]; then
  ntrain=$(($(wc -l < "$work/split/train.csv") - 1))
  for mode in fp32 bf16; do
    flag=$([ $mode = bf16 ] && echo --bf16 || echo --no-bf16)
    # The augmentation the peers apply (small rotation, shift and scale), not the default
    # recipe's heavier one: the same work per image. Both print the training loop's rate.
    read -r xs xm < <(wall "$xrk" train "$data" -o "$work/t.xrk" --size 128 --epochs 1 --augment light $flag)
    xr=$(grep -o '[0-9]* img/s' "$work/out" | tail -1 | cut -d' ' -f1)
    peer=$([ $mode = bf16 ] && echo savvy || echo textbook)
    read -r ps pm < <(wall $py "$here/peer_train.py" "$peer" "$work/split")
    pr=$($py -c "import json,sys; print(json.loads(open('$work/out').read().strip().splitlines()[-1])['images_per_second'])")
    echo "| train 1 epoch ($ntrain images), $mode xraykit vs $peer peer: img/s (wall s, peak RSS) | $xr ($xs s, $xm MiB) | $([ $peer = textbook ] && echo "$pr ($ps s, $pm MiB)" || echo -) | $([ $peer = savvy ] && echo "$pr ($ps s, $pm MiB)" || echo -) | $([ $peer = textbook ] && ratio "$xr" "$pr" || echo -) | $([ $peer = savvy ] && ratio "$xr" "$pr" || echo -) |"
    eval "xraykit_$mode=$xr peer_$peer=$pr"
  done
  # The precision a user gets without flags: bf16 where the CPU has AVX512-BF16, fp32 elsewhere.
  default=$([ "$bf16" = yes ] && echo bf16 || echo fp32)
  xd=$([ "$default" = bf16 ] && echo "$xraykit_bf16" || echo "$xraykit_fp32")
  echo "| train, xraykit at its default precision ($default here; the peers' augmentation) against each peer: img/s | $xd | $peer_textbook | $peer_savvy | $(ratio "$xd" "$peer_textbook") | $(ratio "$xd" "$peer_savvy") |"
fi
echo
echo "($(nproc) cores; $(date -u +%F); xraykit fast inference uses bf16: $bf16)"
