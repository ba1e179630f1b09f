"""A real `xraykit serve` process on 127.0.0.1 with a small model trained by the real CLI."""
import os
import pathlib
import struct
import subprocess
import sys
import zlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
import serve_process  # noqa: E402

PASSWORD = "correct horse battery staple"


def write_png(path, w, h, fill):
    raw = b"".join(b"\x00" + bytes(fill(x, y) for x in range(w)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def binary():
    path = os.environ.get("XRAYKIT_BIN")
    if not path or not os.path.exists(path):
        pytest.fail("set XRAYKIT_BIN to the built xraykit binary")
    return path


def write_dataset(root, per_class=12):
    """Two class folders of small synthetic X-rays, one patient per image: PNEUMONIA has a bright spot."""
    for c, cls in enumerate(("NORMAL", "PNEUMONIA")):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            write_png(root / cls / f"person{c * 100 + i}_virus_{i}.png", 40, 40,
                      lambda x, y: 200 if (c and abs(x - 20) < 6 and abs(y - 20) < 6) else (x * 3 + y * 5 + i) % 120)


@pytest.fixture(scope="session")
def model(tmp_path_factory, binary):
    root = tmp_path_factory.mktemp("data")
    write_dataset(root)
    path = tmp_path_factory.mktemp("model") / "m.xrk"
    subprocess.run([binary, "train", str(root), "-o", str(path), "--size", "32", "--epochs", "1", "--val", "0.25"],
                   check=True, capture_output=True)
    return path


class Server(serve_process.Server):
    """The server with the tests' password (environment variables in `env`)."""

    def __init__(self, binary, model, extra=(), env=None):
        super().__init__(binary, model, extra, password=PASSWORD, env=env)


@pytest.fixture(scope="session")
def server(binary, model):
    s = Server(binary, model, ["--max-files", "4", "--max-body-mb", "1", "--max-pixels", "250000"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def png_bytes(tmp_path_factory):
    p = tmp_path_factory.mktemp("img") / "scan.png"
    write_png(p, 60, 50, lambda x, y: (x + y) % 200)
    return p.read_bytes()
