#!/usr/bin/env bash
# Installs every Debian 12 package xraykit needs. Idempotent; run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build dpkg-dev
  libtorch-dev libfmt-dev libstb-dev libturbojpeg0-dev zlib1g-dev doctest-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libdcmtk-dev dcmtk
  pybind11-dev python3-dev python3-numpy python3-pytest python3-pip python3-venv python3-setuptools python3-torch python3-torchvision
  chromium curl time libffi-platypus-perl systemd debootstrap clang-14 libclang-rt-14-dev
)
# The browser test runs playwright-core on Node.js; keep a Node that is already there (it may
# come from another repository, whose nodejs package includes npm).
command -v node > /dev/null || packages+=(nodejs npm)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Photos that are not X-rays, for the out-of-distribution tests: scikit-image's sample images,
# unpacked from Debian's python3-skimage package (not installed: its Python stack is not needed).
photos="${XRAYKIT_PHOTOS:-$HOME/.cache/xraykit/photos}"
if [ ! -f "$photos/camera.png" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && { apt-get download python3-skimage 2> /dev/null || { $SUDO apt-get update -qq && apt-get download python3-skimage; }; } &&
     dpkg-deb -x python3-skimage_*.deb unpacked)
  mkdir -p "$photos"
  cp "$tmp"/unpacked/usr/lib/python3/dist-packages/skimage/data/*.png "$tmp"/unpacked/usr/lib/python3/dist-packages/skimage/data/*.jpg "$photos"/
  rm -rf "$tmp"
  echo "setup: non-X-ray test photos in $photos"
fi
