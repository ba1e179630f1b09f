"""How long `xraykit serve` takes to classify a batch the way the classify page sends it: N
images split into requests of --max-files (default 16), two requests in flight. Prints the wall
time of the whole batch on loopback (what the server spends, plus a loopback client's few
milliseconds), images/s, and per-request p50/max, best of --rounds.

usage: /usr/bin/python3 bench/classify_batch.py XRAYKIT_BINARY MODEL IMAGE_DIR [--images 300] [--rounds 3]
IMAGE_DIR is searched recursively for .jpeg/.jpg/.png; only 127.0.0.1 is contacted.
"""
import argparse
import concurrent.futures
import pathlib
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
from serve_process import Server  # noqa: E402

PASSWORD = "classify batch benchmark"


def multipart(files):
    boundary = uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"files\"; filename=\""
                    + name.encode() + b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
                    for name, data in files) + b"--" + boundary.encode() + b"--\r\n"
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary,
                  "Authorization": "Bearer " + PASSWORD}


def post(url, chunk):
    body, headers = multipart(chunk)
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=120) as r:
        assert r.status == 200, r.status
        r.read()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("images")
    ap.add_argument("--images", dest="count", type=int, default=300)
    ap.add_argument("--max-files", type=int, default=16)
    ap.add_argument("--in-flight", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    paths = sorted(p for p in pathlib.Path(a.images).rglob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    files = [(p.name, p.read_bytes()) for p in paths[:: max(1, len(paths) // a.count)][: a.count]]
    chunks = [files[i:i + a.max_files] for i in range(0, len(files), a.max_files)]

    server = Server(a.binary, a.model, ["--max-files", str(a.max_files)], password=PASSWORD, output=subprocess.DEVNULL)
    try:
        url = server.url + "/api/predict"
        post(url, chunks[0])  # warm-up: the first forward pass prepares the network's layouts
        best = None
        for _ in range(a.rounds):
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(a.in_flight) as pool:
                latencies = list(pool.map(lambda c: post(url, c), chunks))
            wall = time.perf_counter() - start
            if best is None or wall < best[0]:
                best = (wall, latencies)
        wall, latencies = best
        print(f"{len(files)} images in {len(chunks)} requests of <= {a.max_files}, {a.in_flight} in flight: "
              f"{wall:.2f} s wall (best of {a.rounds}), {len(files) / wall:.0f} images/s; per request "
              f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
