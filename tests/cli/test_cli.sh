#!/usr/bin/env bash
# Runs the real `xraykit` binary as a user would: train on the real data (small settings),
# then info, evaluate, predict, and every error case a user can hit.
# usage: test_cli.sh XRAYKIT_BINARY DATA_DIR
set -u
xk="$1"
data="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }

# expect_error NAME PATTERN CMD...: non-zero exit, one line on stderr matching PATTERN,
# and no crash or stack trace.
expect_error() {
  local name="$1" pattern="$2"
  shift 2
  "$@" > "$work/out" 2> "$work/err"
  local rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -Eq -e "$pattern" "$work/err" && [ "$(wc -l < "$work/err")" -eq 1 ] &&
     ! grep -Eqi 'terminate|abort|frame #|segmentation' "$work/err" "$work/out"; then
    ok "$name"
  else
    bad "$name (exit $rc)"; sed 's/^/    /' "$work/err" | head -5
  fi
}

# Training on a small subset keeps this quick: every third image of each class.
mkdir -p "$work/data/NORMAL" "$work/data/PNEUMONIA"
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 3 == 0' | while read -r f; do ln -s "$data/$cls/$f" "$work/data/$cls/$f"; done
done

if "$xk" train "$work/data" -o "$work/m.xrk" --size 64 --epochs 1 --seed 3 > "$work/train.log" 2>&1 &&
   grep -q "ROC AUC" "$work/train.log" && grep -q "patients on both sides: 0" "$work/train.log" &&
   [ -s "$work/m.xrk" ] && [ -s "$work/m.xrk.html" ] && [ -s "$work/m.xrk.ckpt" ]; then
  ok "train writes model, report and checkpoint, and prints the metrics"
else
  bad "train"; tail -20 "$work/train.log"
fi
# Off a terminal: a flushed in-epoch line (the first at the first step) before the epoch's summary.
awk '/^epoch 1\/1  step [0-9]+\/[0-9]+ / && !step { step = NR } /^epoch 1\/1 .*val AUC/ { end = NR }
     END { exit !(step && end && step < end) }' "$work/train.log" &&
  ok "progress degrades to plain lines off a terminal, printed during the epoch" || bad "plain progress lines"

"$xk" info "$work/m.xrk" > "$work/info" 2>&1 && grep -q "resnet18" "$work/info" && grep -q "threshold" "$work/info" &&
  grep -q "validation" "$work/info" && ok "info" || { bad "info"; cat "$work/info"; }
"$xk" info --json "$work/m.xrk" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["validation"]["auc"]["value"] > 0.8' &&
  ok "info --json has the validation AUC" || bad "info --json"

"$xk" evaluate "$work/m.xrk" "$work/data" --report "$work/e.html" --json "$work/e.json" --bootstrap 100 > "$work/eval" 2>&1 &&
  grep -q "confusion matrix" "$work/eval" && [ -s "$work/e.html" ] &&
  /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["images"] > 1000 and d["bootstrap"]["unit"] == "patient"' "$work/e.json" &&
  ok "evaluate prints metrics and writes HTML and JSON" || { bad "evaluate"; tail "$work/eval"; }
"$xk" evaluate "$work/m.xrk" "$work/data" --tta --bootstrap 0 > "$work/eval_tta" 2>&1 &&
  grep -q "(test-time augmentation)" "$work/eval_tta" && grep -q "confusion matrix" "$work/eval_tta" &&
  ok "evaluate --tta says so beside its figures" || { bad "evaluate --tta"; tail "$work/eval_tta"; }

# Options beside the automatic ones (here --label-smoothing, --mixup and --ema) reach the chosen run.
if "$xk" train "$work/data" -o "$work/auto.xrk" --size 32 --arch auto --epochs auto --augment auto --budget 20s \
     --label-smoothing 0.1 --mixup 0.2 --ema 0.99 > "$work/auto.log" 2>&1 && grep -q "auto-select chose resnet" "$work/auto.log" &&
   grep -q "why:" "$work/auto.log" && "$xk" info "$work/auto.xrk" | grep -q "^auto-select"; then
  ok "train with auto-select explains its choice and records it in the model"
else
  bad "auto-select"; tail -20 "$work/auto.log"
fi
"$xk" info --json "$work/auto.xrk" | /usr/bin/python3 -c 'import json,sys; o = json.load(sys.stdin)["options"]; assert o["label_smoothing"] == 0.1 and o["mixup"] == 0.2 and o["ema"] == 0.99' &&
  ok "train's --label-smoothing, --mixup and --ema reach the model card" || bad "--label-smoothing, --mixup or --ema not recorded"

mkdir -p "$work/incoming"
cp "$data/NORMAL/$(ls "$data/NORMAL" | head -1)" "$work/incoming/a.jpeg"
cp "$data/PNEUMONIA/$(ls "$data/PNEUMONIA" | head -1)" "$work/incoming/b.jpeg"
"$xk" predict "$work/m.xrk" "$work/incoming" --csv "$work/p.csv" > "$work/pred" 2>&1 &&
  [ "$(grep -c 'P(PNEUMONIA)=' "$work/pred")" -eq 2 ] && [ "$(wc -l < "$work/p.csv")" -eq 3 ] &&
  ok "predict a folder, with CSV" || { bad "predict"; cat "$work/pred"; }
printf 'not an image' > "$work/incoming/c.jpeg"
"$xk" predict "$work/m.xrk" "$work/incoming" > "$work/pred2" 2> "$work/pred2.err"
rc=$?
[ $rc -eq 1 ] && [ "$(grep -c 'P(PNEUMONIA)=' "$work/pred2")" -eq 2 ] && grep -q "c.jpeg: not a JPEG" "$work/pred2.err" &&
  ok "predict reports an unreadable file, classifies the rest, exits 1" || { bad "predict with a bad file (exit $rc)"; cat "$work/pred2.err"; }
"$xk" predict "$work/m.xrk" "$work/incoming/a.jpeg" --threshold 0 | grep -q "PNEUMONIA" && ok "predict --threshold" || bad "predict --threshold"

# Without a model file, the shipped pneumonia model answers; a flat grey picture is not a
# chest X-ray, and says so instead of getting a class.
/usr/bin/python3 - "$work/flat.png" <<'PY'
import struct, sys, zlib
w = h = 64
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = b"".join(b"\0" + bytes([128]) * w for _ in range(h))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                              chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
"$xk" predict "$work/incoming/b.jpeg" "$work/flat.png" --csv "$work/p3.csv" > "$work/pred3" 2> "$work/pred3.err" &&
  grep -Eq "b.jpeg	(NORMAL|PNEUMONIA)	P\(PNEUMONIA\)" "$work/pred3" && grep -q "flat.png	UNCERTAIN	.*not like the training X-rays" "$work/pred3" &&
  grep -q "1 image(s) unlike the X-rays" "$work/pred3.err" && grep -q "flat.png,UNCERTAIN,.*,[0-9.]*,$" "$work/p3.csv" &&
  ok "predict without a model uses the shipped one and answers UNCERTAIN for a non-X-ray" ||
  { bad "predict with the shipped model"; cat "$work/pred3" "$work/pred3.err"; }

mkdir -p "$work/empty/NORMAL" "$work/empty/PNEUMONIA" "$work/one/NORMAL"
cp "$work/incoming/a.jpeg" "$work/one/NORMAL/IM-0001-0001.jpeg"
cp "$work/incoming/a.jpeg" "$work/one/NORMAL/IM-0002-0001.jpeg"
# --fold I/K: the K validation folds are patient-disjoint from their training side and together
# hold every image once.
for i in 1 2 3; do "$xk" dataset "$work/data" --size 32 --fold "$i/3" --write-split "$work/fold$i" > /dev/null 2>&1; done
/usr/bin/python3 - "$work" <<'PY' && ok "dataset --fold I/K writes patient-disjoint folds that cover the data" || bad "dataset --fold"
import csv, sys
work = sys.argv[1]
rows = lambda f: list(csv.DictReader(open(f)))
seen = []
for i in (1, 2, 3):
    train, val = rows(f"{work}/fold{i}/train.csv"), rows(f"{work}/fold{i}/val.csv")
    assert not {r["patient"] for r in train} & {r["patient"] for r in val}
    assert len(train) > len(val) > 0
    seen += [r["path"] for r in val]
assert len(seen) == len(set(seen)) == len(rows(f"{work}/fold1/train.csv")) + len(rows(f"{work}/fold1/val.csv"))
PY
# CLI11 refuses it while parsing (two lines: the reason, then where to find help).
"$xk" train "$work/data" -o "$work/x.xrk" --label-smoothing 0.7 > /dev/null 2> "$work/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "--label-smoothing: Value 0.7 not in range" "$work/err" &&
  ok "label smoothing out of range" || { bad "label smoothing out of range (rc $rc)"; cat "$work/err"; }
"$xk" train "$work/data" -o "$work/x.xrk" --mixup 20 > /dev/null 2> "$work/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "--mixup: Value 20 not in range" "$work/err" &&
  ok "mixup out of range" || { bad "mixup out of range (rc $rc)"; cat "$work/err"; }
expect_error "ema of 1" "ema must be 0 \\(off\\) or in \\(0, 1\\)" "$xk" train "$work/data" -o "$work/x.xrk" --ema 1
expect_error "stochastic depth too high" "stochastic_depth must be 0 \\(off\\) or in \\(0, 0.5" "$xk" train "$work/data" -o "$work/x.xrk" --stochastic-depth 0.7
expect_error "mixup with cutmix" "mixup and cutmix cannot both be on" "$xk" train "$work/data" -o "$work/x.xrk" --mixup 0.2 --cutmix 1
expect_error "bad fold" "--fold 4/3: need K >= 2" "$xk" train "$work/data" -o "$work/x.xrk" --fold 4/3

expect_error "missing folder" "xraykit: error: .*/nope: no such folder" "$xk" train "$work/nope" -o "$work/x.xrk"
expect_error "empty folder" "no usable images" "$xk" train "$work/empty" -o "$work/x.xrk"
expect_error "one class" "at least two classes" "$xk" train "$work/one" -o "$work/x.xrk"
expect_error "unknown architecture" "unknown architecture 'resnet19'" "$xk" train "$work/data" -o "$work/x.xrk" --arch resnet19
expect_error "bad augmentation spec" "bad augmentation token 'wobble=2'" "$xk" train "$work/data" -o "$work/x.xrk" --augment rotate=5,wobble=2
expect_error "bad epochs" "--epochs must be a number or auto" "$xk" train "$work/data" -o "$work/x.xrk" --epochs many
expect_error "bad budget" "bad duration 'soon'" "$xk" train "$work/data" -o "$work/x.xrk" --arch auto --budget soon
expect_error "unwritable output" "does not exist" "$xk" train "$work/data" -o "$work/no/such/dir/x.xrk"
expect_error "a file that is not a model" "not an xraykit model file" "$xk" info "$work/incoming/a.jpeg"
expect_error "a truncated model" "truncated or damaged" sh -c "head -c 10000 '$work/m.xrk' > '$work/cut.xrk' && exec '$xk' info '$work/cut.xrk'"
expect_error "a missing model" "cannot open" "$xk" evaluate "$work/none.xrk" "$work/data"
expect_error "a checkpoint is not a model" "is an xraykit checkpoint file" "$xk" predict "$work/m.xrk.ckpt" "$work/incoming/a.jpeg"
"$xk" --version | grep -Eq '^xraykit [0-9]+\.[0-9]+\.[0-9]+$' && ok "--version" || bad "--version"
for c in demo train evaluate predict info dataset augment; do
  "$xk" "$c" --help | grep -q "Example" || bad "$c --help has examples"
done
ok "--help with examples on every command"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
