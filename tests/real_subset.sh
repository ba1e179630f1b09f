#!/bin/sh
# Links every EVERY-th real image of each class into DST/<class>/ (no copies): the tests that
# run a whole program on real X-rays need its behaviour, not the full set's training time.
# usage: tests/real_subset.sh DATA_DIR DST EVERY
set -eu
data=$1 dst=$2 every=$3
for cls in NORMAL PNEUMONIA; do
  [ -d "$data/$cls" ] || { echo "$data/$cls: no such folder" >&2; exit 1; }
  mkdir -p "$dst/$cls"
  ls "$data/$cls" | awk -v n="$every" 'NR % n == 1' | while read -r f; do ln -s "$data/$cls/$f" "$dst/$cls/$f"; done
done
