#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, clang 14, with ASan and UBSan) of everything that reads
# bytes from elsewhere (tests/fuzz/): image decoding (every format), the model-file and .pth
# readers, the CSV manifest and augmentation-spec parsers, the studio's zip reader, the DICOM
# structure walk, the web app's decoders of client input, and the web app's request handling
# end to end (raw requests to an in-process server: login, predict upload, pages, API).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60, every target;
#                                                             ctest `fuzz_short` runs 10)
#   FUZZ_RUNS=1000000 bash scripts/fuzz.sh 0 [TARGET...]    (a number of inputs instead)
# Needs the normal build first (build/: the web target links build/src/libxraykit.so and the
# generated web assets). Our sources are compiled here with clang's coverage instrumentation;
# LibTorch, DCMTK, libjpeg-turbo and cpp-httplib are Debian's (not instrumented). Corpora grow
# in build-fuzz/corpus/<target> between runs (seeded below); a crash leaves its input in
# build-fuzz/ and fails the script. Inputs that once failed are kept in
# tests/fuzz/regressions/<target>-* and run first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
out=build-fuzz
mkdir -p "$out/obj"
cxx="${CXX_FUZZ:-clang++-14}"
command -v "$cxx" > /dev/null || { echo "$cxx is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
[ -f build/src/libxraykit.so ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
sanitizers=address,undefined
cflags=(-std=c++17 -g -O1 -fno-sanitize-recover=undefined -D_GLIBCXX_USE_CXX11_ABI=1
        -Iinclude -Ibuild/include -Isrc -Isrc/app/web -isystem /usr/include/stb
        -isystem /usr/include/torch/csrc/api/include $(pkg-config --cflags cpp-httplib))
torch_libs=(-ltorch -ltorch_cpu -lc10)
dcmtk_libs=(-ldcmjpeg -ldcmjpls -ldcmimage -ldcmimgle -ldcmdata -lijg8 -lijg12 -lijg16 -ldcmtkcharls -loflog -lofstd)

# Each source compiled once (again when it, the flags or any of our headers changed),
# instrumented for coverage.
headers="$(cat $(find include src -name '*.hpp' | sort) | md5sum | cut -c1-8)"
object() {  # source -> prints the object's path
  local src="$1" extra=()
  # stb shifts negative values left on purpose and copies zero bytes from a null pointer for
  # an empty PNG chunk (see src/CMakeLists.txt).
  [ "$src" = src/image/stb_impl.cpp ] && extra=(-fno-sanitize=shift-base -fno-sanitize=nonnull-attribute)
  local flags=("${cflags[@]}" -fsanitize=fuzzer-no-link,$sanitizers "${extra[@]}")
  local obj="$out/obj/$(echo "$src" | tr / _)-$(echo "${flags[*]} $headers" | md5sum | cut -c1-8).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj"
  fi
  echo "$obj"
}
build() {  # target "sources..." libraries...
  local target="$1" sources=($2) objects=() src
  shift 2
  for src in "${sources[@]}"; do objects+=("$(object "$src")"); done
  "$cxx" -fsanitize=fuzzer,$sanitizers "$(object "tests/fuzz/$target.cpp")" "${objects[@]}" -o "$out/$target" \
    -Wl,-rpath,"$PWD/build/src" "$@" -lfmt -lz -lpthread
}
image_sources="src/util/file_util.cpp src/util/rng.cpp src/util/sha256.cpp src/image/image_decode.cpp src/image/image_resize.cpp
  src/image/dicom.cpp src/image/dicom_structure.cpp src/image/stb_impl.cpp"
data_sources="src/data/patient.cpp src/data/dataset.cpp src/data/dataset_load.cpp src/data/dataset_split.cpp src/data/augment.cpp"
web_sources="src/app/web/server.cpp src/app/web/guarded_server.cpp src/app/web/routes_login.cpp src/app/web/routes_pages.cpp
  src/app/web/routes_api.cpp src/app/web/routes_studio.cpp src/app/web/studio.cpp src/app/web/zip_archive.cpp
  src/app/web/auth.cpp src/app/web/codec.cpp src/util/file_util.cpp build/src/app/web/assets.cpp"

all_targets=(fuzz_image fuzz_text_inputs fuzz_model_file fuzz_zip fuzz_dicom_structure fuzz_web_codec fuzz_http)
targets=("${@:-${all_targets[@]}}")
for target in "${targets[@]}"; do
  echo "== building $target"
  case "$target" in
    fuzz_image) build fuzz_image "$image_sources" -lturbojpeg "${dcmtk_libs[@]}" ;;
    fuzz_text_inputs) build fuzz_text_inputs "$image_sources $data_sources" -lturbojpeg "${dcmtk_libs[@]}" ;;
    fuzz_model_file) build fuzz_model_file "src/util/file_util.cpp src/model/container.cpp src/model/torch_pickle.cpp" "${torch_libs[@]}" ;;
    fuzz_zip) build fuzz_zip "src/app/web/zip_archive.cpp" ;;
    fuzz_dicom_structure) build fuzz_dicom_structure "src/image/dicom_structure.cpp" ;;
    fuzz_web_codec) build fuzz_web_codec "src/app/web/codec.cpp" ;;
    fuzz_http) build fuzz_http "$web_sources" -Lbuild/src -lxraykit $(pkg-config --libs cpp-httplib) ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
done

# Seeds: a small zip as Python writes it, forms and headers as browsers send them, small images
# of each format, a saved state dict, requests as browsers and curl send them.
for target in "${targets[@]}"; do mkdir -p "$out/corpus/$target"; done
/usr/bin/python3 tests/fuzz/make_seeds.py "$out/corpus"
export UBSAN_OPTIONS="print_stacktrace=1"
for target in "${targets[@]}"; do
  # Inputs that once failed (tests/fuzz/regressions/<target>-*) run first, every time.
  leaks=1 per_input_leaks=1
  [ "$target" = fuzz_http ] && leaks=0 per_input_leaks=0  # the in-process server's threads live across inputs
  # LibTorch leaks on most malformed archives (tests/fuzz/lsan.supp): checking after every
  # input would cost a full leak scan each time (355 inputs/s instead of 4,400); the check at
  # exit still covers xraykit's own allocations.
  [ "$target" = fuzz_model_file ] && per_input_leaks=0
  export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
  regressions=(tests/fuzz/regressions/"$target"-*)
  if [ -e "${regressions[0]}" ]; then
    "$out/$target" "${regressions[@]}" > "$out/$target.regressions.log" 2>&1 ||
      { cat "$out/$target.regressions.log" >&2; echo "a regression input fails again: $target" >&2; exit 1; }
    echo "== $target: ${#regressions[@]} regression input(s) pass"
  fi
  if [ -n "${FUZZ_RUNS:-}" ]; then echo "== $target for $FUZZ_RUNS inputs"; else echo "== $target for ${seconds}s"; fi
  (cd "$out" && "./$target" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -rss_limit_mb=4096 -timeout=20 -max_len=65536 -detect_leaks=$per_input_leaks \
     -print_final_stats=1 "corpus/$target" > "$target.log" 2>&1 || true)
  # The whole output (a failure's reason and stack) stays in build-fuzz/<target>.log.
  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|crash-|Test unit written" "$out/$target.log" || true
  # libFuzzer leaves crash-*/leak-*/timeout-*/oom-* files for what it found.
  found="$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))"
  if [ -n "$found" ]; then
    echo "fuzzing found failing inputs (kept for the regression corpus; output in $out/$target.log): $found" >&2
    exit 1
  fi
done
echo "fuzzing: clean"
