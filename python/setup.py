"""Builds the `xraykit` Python module with pip, against a built or installed libxraykit.

    /usr/bin/python3 -m pip install --no-build-isolation ./python

Where libxraykit is found, first match wins:
  XRAYKIT_BUILD_DIR  a CMake build tree of this repository (headers from include/ and the
                     tree's include/, the library from BUILD/src);
  XRAYKIT_PREFIX     an install prefix (PREFIX/include, PREFIX/lib[/<multiarch>]);
  pkg-config xraykit the installed package (the .deb, or `cmake --install`).
The module records the library's folder as its run-time path, so no LD_LIBRARY_PATH is needed.
The sources are the same python/src/*.cpp that CMake builds: nothing is implemented twice.
"""
import glob
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup

def fail(message):
    sys.exit(f"xraykit setup.py: {message}")


def from_build_dir(build):
    build = os.path.abspath(build)
    lib = os.path.join(build, "src")
    if not glob.glob(os.path.join(lib, "libxraykit.so*")):
        fail(f"XRAYKIT_BUILD_DIR={build} holds no src/libxraykit.so: build the project first (scripts/build.sh)")
    # The public headers live in the sources the tree was configured from.
    with open(os.path.join(build, "CMakeCache.txt")) as cache:
        source = next((line.split("=", 1)[1].strip() for line in cache if line.startswith("CMAKE_HOME_DIRECTORY")), None)
    if not source:
        fail(f"{build}/CMakeCache.txt names no source folder (CMAKE_HOME_DIRECTORY)")
    return [os.path.join(source, "include"), os.path.join(build, "include")], [lib]


def from_prefix(prefix):
    candidates = [os.path.join(prefix, "lib", "x86_64-linux-gnu"), os.path.join(prefix, "lib", "aarch64-linux-gnu"),
                  os.path.join(prefix, "lib64"), os.path.join(prefix, "lib")]
    libs = [d for d in candidates if glob.glob(os.path.join(d, "libxraykit.so*"))]
    if not libs:
        fail(f"XRAYKIT_PREFIX={prefix} holds no lib/libxraykit.so")
    return [os.path.join(prefix, "include")], libs[:1]


def from_pkg_config():
    try:
        cflags = subprocess.run(["pkg-config", "--cflags", "xraykit"], check=True, capture_output=True, text=True).stdout
        libs = subprocess.run(["pkg-config", "--libs-only-L", "xraykit"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        fail("no xraykit found: set XRAYKIT_BUILD_DIR (a build tree) or XRAYKIT_PREFIX (an install prefix), "
             "or install the xraykit package so that `pkg-config xraykit` answers")
    includes = [f[2:] for f in shlex.split(cflags) if f.startswith("-I")]
    lib_dirs = [f[2:] for f in shlex.split(libs) if f.startswith("-L")]
    return includes, lib_dirs


def locate():
    if os.environ.get("XRAYKIT_BUILD_DIR"):
        return from_build_dir(os.environ["XRAYKIT_BUILD_DIR"])
    if os.environ.get("XRAYKIT_PREFIX"):
        return from_prefix(os.environ["XRAYKIT_PREFIX"])
    return from_pkg_config()


includes, lib_dirs = locate()
module = Extension(
    "xraykit._xraykit",
    sources=sorted(glob.glob(os.path.join("src", "*.cpp"))),
    include_dirs=includes + ["src"],  # pybind11's headers: Debian's pybind11-dev, in /usr/include
    library_dirs=lib_dirs,
    runtime_library_dirs=lib_dirs,
    libraries=["xraykit"],
    extra_compile_args=["-std=c++17", "-fvisibility=hidden", "-O2"],
    language="c++",
)
setup(
    ext_modules=[module],
    packages=["xraykit"],
    package_data={"xraykit": ["__init__.pyi", "py.typed"]},
    # The binding files compile independently: one job per core.
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
)
