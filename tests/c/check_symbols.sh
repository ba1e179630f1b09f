#!/usr/bin/env bash
# Fails when the set of symbols exported by libxraykit_c changes by accident.
# usage: check_symbols.sh LIBRARY EXPECTED_LIST   (update the list deliberately when the ABI grows)
set -euo pipefail
actual=$(nm -D --defined-only "$1" | awk '{print $3}' | sort)
if diff <(echo "$actual") <(sort "$2"); then
  echo "exported symbols match $2 ($(echo "$actual" | wc -l) symbols)"
else
  echo "exported symbols differ from $2 (< library, > list)"
  exit 1
fi
