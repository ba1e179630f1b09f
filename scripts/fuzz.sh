#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, clang 14, with ASan and UBSan) of the parsers that read
# bytes from elsewhere and need no LibTorch: the studio's zip reader, the DICOM structure walk
# that runs before DCMTK, and the web app's decoders of client input (tests/fuzz/).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60; ctest `fuzz_short` runs 15)
# Corpora grow in build-fuzz/corpus/<target> between runs (seeded here with a real zip and a
# few forms); a crash leaves its input in build-fuzz/ and fails the script. Inputs that once
# failed are kept in tests/fuzz/regressions/ and run first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out"
cxx="${CXX_FUZZ:-clang++-14}"
command -v "$cxx" > /dev/null || { echo "$cxx is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Isrc -Isrc/app/web)
build() {  # target sources...
  local target="$1"; shift
  "$cxx" "${flags[@]}" "tests/fuzz/$target.cpp" "$@" -o "$out/$target" -lfmt -lz
}
build fuzz_zip src/app/web/zip_archive.cpp
build fuzz_dicom_structure src/image/dicom_structure.cpp
build fuzz_web_codec src/app/web/codec.cpp

# Seeds: a small zip as Python writes it, forms and headers as browsers send them.
mkdir -p "$out/corpus/fuzz_zip" "$out/corpus/fuzz_dicom_structure" "$out/corpus/fuzz_web_codec"
[ -e "$out/corpus/fuzz_zip/seed.zip" ] || /usr/bin/python3 - "$out/corpus/fuzz_zip/seed.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("data/NORMAL/a.png", b"\x89PNG" + bytes(range(200)))
    z.writestr("data/PNEUMONIA/b.jpeg", b"\xff\xd8" + b"x" * 300)
    z.writestr("list.csv", b"data/NORMAL/a.png,NORMAL\n")
    z.writestr("../up.png", b"up")
PY
printf 'password=a%%20b%%zz&x=1' > "$out/corpus/fuzz_web_codec/form"
printf 'xrk_session=abc; other=1' > "$out/corpus/fuzz_web_codec/cookie"
printf 'YW55OnBhc3N3b3Jk' > "$out/corpus/fuzz_web_codec/basic"
head -c 132 /dev/zero | sed 's/\x00\{4\}$/DICM/' > "$out/corpus/fuzz_dicom_structure/preamble"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1"
for target in fuzz_zip fuzz_dicom_structure fuzz_web_codec; do
  # Inputs that once failed (tests/fuzz/regressions/<target>-*) run first, every time.
  regressions=(tests/fuzz/regressions/"$target"-*)
  if [ -e "${regressions[0]}" ]; then
    "$out/$target" "${regressions[@]}" > "$out/$target.regressions.log" 2>&1 ||
      { cat "$out/$target.regressions.log" >&2; echo "a regression input fails again: $target" >&2; exit 1; }
    echo "== $target: ${#regressions[@]} regression input(s) pass"
  fi
  echo "== $target for ${seconds}s"
  (cd "$out" && "./$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
     -print_final_stats=1 "corpus/$target" 2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|crash-|Test unit written" || true)
  # libFuzzer leaves crash-*/leak-*/timeout-*/oom-* files for what it found.
  found="$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))"
  if [ -n "$found" ]; then
    echo "fuzzing found failing inputs (kept for the regression corpus): $found" >&2
    exit 1
  fi
done
echo "fuzzing: clean"
