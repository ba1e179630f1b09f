#!/usr/bin/env bash
# Installs the xraykit .deb on a clean Debian 12 and runs its smoke test there. "Clean" is a
# fresh debootstrap root (minbase: no compiler, no Python, no LibTorch) whose only package
# source is Debian's mirror, so the package's Depends must name everything it needs. Inside:
# `apt-get install ./xraykit.deb`, then `xraykit --version`, a prediction with the shipped
# model, `import xraykit` with Debian's python3, and a C consumer that a user builds with
# gcc and pkg-config (installed for the consumer, not by the package).
#
# usage: bash scripts/deb_clean_install.sh DEB|BUILD_DIR   (the newest xraykit_*.deb in BUILD_DIR)
# Runs as root (debootstrap, chroot); otherwise it exits 77, which ctest reports as skipped.
# XRAYKIT_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian).
set -euo pipefail
deb="${1:?usage: deb_clean_install.sh path/to/xraykit_VERSION_ARCH.deb or BUILD_DIR}"
[ -d "$deb" ] && deb="$(ls -t "$deb"/xraykit_*.deb 2> /dev/null | head -1 || true)"
[ -f "$deb" ] || { echo "${1}: no xraykit package there (scripts/package.sh makes it)" >&2; exit 1; }
deb="$(realpath "$deb")"
[ "$(id -u)" = 0 ] || { echo "skipped: a clean install needs root (debootstrap, chroot)"; exit 77; }
command -v debootstrap > /dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
mirror="${XRAYKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

root="$(mktemp -d /var/tmp/xraykit-clean.XXXXXX)"
cleanup() {
  umount "$root/proc" 2> /dev/null || true
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "== debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/xraykit.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
# Downloads as root: the chroot's _apt user cannot write the freshly made cache folders.
apt_install() {
  in_root env DEBIAN_FRONTEND=noninteractive apt-get -o APT::Sandbox::User=root install -y -q \
    --no-install-recommends "$@" > "$root/install.log" 2>&1 || { tail -30 "$root/install.log" >&2; exit 1; }
}

echo "== apt-get install ./xraykit.deb (dependencies from Debian only)"
in_root apt-get -o APT::Sandbox::User=root update -q > /dev/null
apt_install /tmp/xraykit.deb
grep "^Setting up xraykit" "$root/install.log" | head -1

echo "== smoke test"
in_root xraykit --version
# Whole output first: `| head -3` under pipefail failed the script whenever head exited before
# xraykit wrote its last line (SIGPIPE, status 141), a race that a busy machine loses.
in_root xraykit info "$(in_root python3 -c 'import xraykit; print(xraykit.shipped_model_path())')" > "$root/tmp/info.txt"
head -3 "$root/tmp/info.txt"
in_root python3 - <<'PY'
import numpy as np
import xraykit
model = xraykit.ResNetClassifier.load()  # the shipped pneumonia model
rng = np.random.default_rng(0)
result = model.predict(rng.integers(0, 256, (300, 280), dtype=np.uint8))
print("python:", xraykit.__version__, xraykit.__file__, "->", result["class_name"])
assert result["class_name"] in model.classes
PY

apt_install gcc libc6-dev pkg-config
cat > "$root/tmp/consumer.c" <<'C'
#include <stdio.h>
#include <xraykit.h>
int main(void) {
  xrk_classifier *model = NULL;
  if (xrk_classifier_load("/nonexistent.xrk", &model) == XRK_OK) return 1;
  printf("C consumer: xraykit %s; a missing model is refused: %s\n", xrk_version(), xrk_last_error());
  return 0;
}
C
in_root sh -c 'cc -std=c99 /tmp/consumer.c $(pkg-config --cflags --libs xraykit-c) -o /tmp/consumer && /tmp/consumer'
echo "clean install OK"
