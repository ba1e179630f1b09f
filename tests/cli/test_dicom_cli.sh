#!/usr/bin/env bash
# DICOM through every entry point (issue 14): DICOM files made from real radiographs with
# DCMTK's img2dcm (JPEG baseline inside, names and ids set), then dataset, train, info,
# predict, evaluate, the web upload, Python and the C ABI (ctypes) read them; and no
# patient-identifying value appears in anything any of them printed or wrote.
# usage: test_dicom_cli.sh XRAYKIT_BINARY DATA_DIR BUILD_DIR LIBXRAYKIT_C
set -u
xk="$1" data="$2" build="$3" libc="$4"
src=$(cd "$(dirname "$0")/../.." && pwd)
work="$(mktemp -d)"
server=
trap '[ -n "$server" ] && kill "$server" 2> /dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }
out="$work/out"  # everything any entry point prints or writes goes here, to be searched at the end
mkdir -p "$out" "$work/dcm/NORMAL" "$work/dcm/PNEUMONIA"

# 24 radiographs per class; the patient id is "MRN-XK-" + the Kermany patient (so one child's
# images share it), the name a fixed one.
for cls in NORMAL PNEUMONIA; do
  ls "$data/$cls" | awk 'NR % 50 == 1' | head -24 | while read -r f; do
    patient=$(echo "$f" | sed -E 's/^(person[0-9]+|NORMAL2-IM-[0-9]+|IM-[0-9]+).*/\1/')
    img2dcm -q "$data/$cls/$f" "$work/dcm/$cls/${f%.*}.dcm" -k "PatientName=DOE^JANE" \
      -k "PatientID=MRN-XK-$patient" -k "PatientBirthDate=20210304" -k "ViewPosition=PA" || echo "img2dcm failed on $f"
  done
done
first=$(ls "$work/dcm/NORMAL" | head -1)
img2dcm -q "$data/NORMAL/${first%.dcm}.jpeg" "$work/lateral.dcm" -k "PatientName=DOE^JANE" -k "PatientID=MRN-XK-7" \
  -k "ViewPosition=LL"
[ "$(ls "$work/dcm/NORMAL" "$work/dcm/PNEUMONIA" | grep -c '\.dcm$')" -eq 48 ] && ok "48 DICOM files made" || bad "DICOM files made"

"$xk" dataset "$work/dcm" > "$out/dataset.txt" 2>&1 && grep -q "images 48" "$out/dataset.txt" &&
  grep -q "DICOM view positions: PA 48" "$out/dataset.txt" &&
  ok "dataset reads DICOM folders" || { bad "dataset"; head -5 "$out/dataset.txt"; }

"$xk" train "$work/dcm" -o "$out/m.xrk" --size 32 --epochs 1 > "$out/train.txt" 2>&1 && [ -s "$out/m.xrk" ] &&
  ok "train on DICOM" || { bad "train"; tail -5 "$out/train.txt"; }
"$xk" info "$out/m.xrk" > "$out/info.txt" 2>&1

# The same radiograph as JPEG and as DICOM gets the same answer.
"$xk" predict "$out/m.xrk" "$work/dcm/NORMAL/$first" "$data/NORMAL/${first%.dcm}.jpeg" "$work/lateral.dcm" \
  --csv "$out/p.csv" > "$out/predict.txt" 2> "$out/predict.err"
p_dcm=$(awk -F, 'NR == 2 { print $4 }' "$out/p.csv")
p_jpg=$(awk -F, 'NR == 3 { print $4 }' "$out/p.csv")
awk -v a="$p_dcm" -v b="$p_jpg" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.05 && d > -0.05) }' &&
  ok "predict: DICOM and JPEG of one radiograph agree ($p_dcm vs $p_jpg)" || bad "predict agreement ($p_dcm vs $p_jpg)"
grep -q "view position 'LL'" "$out/predict.err" && ok "predict refuses a lateral view with the reason" ||
  { bad "lateral refusal"; cat "$out/predict.err"; }

"$xk" evaluate "$out/m.xrk" "$work/dcm" --json "$out/e.json" --report "$out/e.html" > "$out/evaluate.txt" 2>&1 &&
  ok "evaluate on DICOM" || { bad "evaluate"; tail -5 "$out/evaluate.txt"; }

# The web upload.
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
XRAYKIT_PASSWORD='a long enough test password' "$xk" serve "$out/m.xrk" --port "$port" > "$out/serve.txt" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
auth='Authorization: Bearer a long enough test password'
curl -s -H "$auth" -F "image=@$work/dcm/NORMAL/$first" "http://127.0.0.1:$port/api/predict" > "$out/web.json"
grep -q '"probabilities"' "$out/web.json" && ok "web upload of a DICOM file" || { bad "web upload"; cat "$out/web.json"; }
code=$(curl -s -o "$out/web-lateral.json" -w '%{http_code}' -H "$auth" -F "image=@$work/lateral.dcm" \
  "http://127.0.0.1:$port/api/predict")
case "$code" in 4*) grep -q "view position" "$out/web-lateral.json" && ok "web refuses a lateral DICOM ($code)" ||
  bad "web lateral reason";; *) bad "web lateral gave $code";; esac
kill "$server"; wait "$server" 2> /dev/null; server=

# Python and the C ABI (through ctypes).
PYTHONPATH="$build/python" /usr/bin/python3 -c "
import sys, xraykit
m = xraykit.ResNetClassifier.load(sys.argv[1])
print(m.predict(sys.argv[2]))
d = xraykit.Dataset.from_folder(sys.argv[3], image_size=32)
print(len(d), [d.patient(i) for i in range(3)], 'views', {d.view_position(i) for i in range(len(d))})
" "$out/m.xrk" "$work/dcm/NORMAL/$first" "$work/dcm" > "$out/python.txt" 2>&1 &&
  grep -q "probabilities" "$out/python.txt" && grep -q "views {'PA'}" "$out/python.txt" && ok "Python reads DICOM" || { bad "Python"; tail -3 "$out/python.txt"; }
/usr/bin/python3 "$src/examples/ctypes/predict_ctypes.py" "$libc" "$work/dcm/NORMAL/$first" > "$out/ctypes.txt" 2>&1 &&
  ok "C ABI (ctypes) reads DICOM" || { bad "C ABI"; tail -3 "$out/ctypes.txt"; }

# Nothing that identifies a patient, anywhere (the model file included).
if grep -raF -e "DOE^JANE" -e "MRN-XK-" -e "20210304" "$out" > "$work/leaks"; then
  bad "patient-identifying values leaked:"; head -5 "$work/leaks"
else
  ok "no name, id or birth date in $(ls "$out" | wc -l) outputs"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
