#!/usr/bin/env bash
# Builds the Debian package of xraykit from an existing build (scripts/build.sh), then checks
# it by unpacking it into a scratch root: `xraykit --version`, a C consumer compiled against
# the packaged header and library, and `import xraykit` with Debian's python3.
#
# usage: bash scripts/package.sh [BUILD_DIR]      -> BUILD_DIR/xraykit_VERSION_ARCH.deb
# Install it with `apt install ./build/xraykit_*.deb` (as root).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
# Debian's layout: /usr prefix, the Python module where /usr/bin/python3 looks. The build's
# own install settings are put back afterwards (nothing is recompiled either way).
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
old_prefix="$(cached CMAKE_INSTALL_PREFIX)"
old_python="$(cached XRAYKIT_PYTHON_INSTALL_DIR)"
restore() { cmake -S "$here" -B "$build" -DCMAKE_INSTALL_PREFIX="$old_prefix" -DXRAYKIT_PYTHON_INSTALL_DIR:STRING="$old_python" > /dev/null; }
cmake -S "$here" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DXRAYKIT_PYTHON_INSTALL_DIR:STRING=lib/python3/dist-packages > /dev/null
trap restore EXIT
cmake --build "$build"
(cd "$build" && cpack -G DEB > /dev/null)
deb="$(ls -t "$build"/xraykit_*.deb | head -1)"
echo "package: $deb"
dpkg-deb -f "$deb" Package Version Depends

root="$(mktemp -d)"
trap 'rm -rf "$root"; restore' EXIT
dpkg-deb -x "$deb" "$root"
libdir="$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
[ -d "$libdir" ] || libdir="$root/usr/lib"
export LD_LIBRARY_PATH="$libdir"
"$root/usr/bin/xraykit" --version
cat > "$root/consumer.c" <<'C'
#include <stdio.h>
#include <xraykit.h>
int main(void) { printf("C consumer: xraykit %s\n", xrk_version()); return 0; }
C
cc -std=c99 "$root/consumer.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs xraykit-c) -o "$root/consumer"
"$root/consumer"
PYTHONPATH="$root/usr/lib/python3/dist-packages" /usr/bin/python3 -c "import xraykit; print('python:', xraykit.__version__, xraykit.__file__)"
# The shipped model is found from the unpacked library's own place (../../share/xraykit/models).
shipped="$(PYTHONPATH="$root/usr/lib/python3/dist-packages" /usr/bin/python3 -c "import xraykit; print(xraykit.shipped_model_path())")"
case "$shipped" in "$root"/*) ;; *) echo "the shipped model was not found inside the package: $shipped" >&2; exit 1 ;; esac
"$root/usr/bin/xraykit" info "$shipped" | grep -q "Kermany" || { echo "$shipped: not the shipped model" >&2; exit 1; }
for f in include/xraykit/classifier.hpp include/xraykit.h share/doc/xraykit/README.md share/xraykit/models/pneumonia.xrk lib/systemd/system/xraykit.service; do
  [ -e "$root/usr/$f" ] || { echo "missing from the package: /usr/$f" >&2; exit 1; }
done
ls "$libdir"/cmake/xraykit/xraykitConfig.cmake "$libdir"/pkgconfig/xraykit.pc "$libdir"/pkgconfig/xraykit-c.pc > /dev/null
dpkg-deb -f "$deb" Depends | grep -q "libtorch" || { echo "Depends lacks the LibTorch runtime" >&2; exit 1; }
echo "package OK"
