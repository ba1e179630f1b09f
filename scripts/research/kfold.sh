#!/usr/bin/env bash
# Patient-disjoint k-fold cross-validation of one training recipe (issue 11), resumable:
# folds whose evaluation exists are skipped. Run in the background: each fold takes ~10 minutes
# on 2 cores with AVX512-BF16 (bf16 training), ~36 without (fp32; its --shifts evaluation ~6).
#
# usage: scripts/research/kfold.sh XRAYKIT_BINARY DATA OUTDIR NAME [K] -- [train options...]
#   e.g. scripts/research/kfold.sh build/bin/xraykit ../shared/data/chest_xray/train /tmp/kf A 5 -- --augment robust
#   FOLDS="5" runs only those folds (default: 1 to K).
# Writes OUTDIR/NAME<i>.{xrk,log,eval}; summarise with scripts/research/shift_summary.py.
# Copy the binary and library elsewhere first if you rebuild meanwhile.
set -u
x="$1" d="$2" out="$3" name="$4" k="${5:-5}"
shift 5
[ "${1:-}" = "--" ] && shift
mkdir -p "$out"
for f in ${FOLDS:-$(seq 1 "$k")}; do
  [ -d "$out/fold$f" ] || "$x" dataset "$d" --size 32 --fold "$f/$k" --write-split "$out/fold$f" > /dev/null
  [ -s "$out/$name$f.eval" ] && continue
  echo "$(date +%T) train $name$f" >> "$out/progress.log"
  "$x" train "$d" -o "$out/$name$f.xrk" --size 128 --epochs 10 --fold "$f/$k" "$@" > "$out/$name$f.log" 2>&1 &&
    "$x" evaluate "$out/$name$f.xrk" "$out/fold$f/val.csv" --shifts --bootstrap 200 > "$out/$name$f.eval" 2>&1
  echo "$(date +%T) done $name$f rc=$?" >> "$out/progress.log"
done
