"""Bounded load test of `xraykit serve` on loopback: N concurrent clients send single-image
predictions; prints requests/s, p50/p99 latency, errors, and the server's RSS before/after.

usage: /usr/bin/python3 bench/load_test.py XRAYKIT_BINARY MODEL IMAGE [--requests 2000] [--clients 8]
Only 127.0.0.1 is contacted; the request count and a time limit bound the run.
"""
import argparse
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
from serve_process import Server  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("--rounds", type=int, default=1, help="repeat the run, reporting RSS after each")
    a = ap.parse_args()

    password = "load-test-passphrase"
    server = Server(a.binary, a.model, ["--workers", str(a.workers), "--queue", "64"], password=password,
                    output=subprocess.DEVNULL)
    url = server.url + "/api/predict"
    body = open(a.image, "rb").read()
    headers = {"Authorization": "Bearer " + password, "Content-Type": "application/octet-stream"}
    try:
        def one():
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60) as r:
                    r.read()
                    ok = r.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            return time.perf_counter() - t0, ok

        for _ in range(20):  # warm-up: first requests build oneDNN kernels
            one()
        rss_before = server.rss_kib()

        for round_ in range(a.rounds):
            latencies, errors, lock = [], [0], threading.Lock()
            remaining = [a.requests]
            deadline = time.time() + a.time_limit

            def client():
                while time.time() < deadline:
                    with lock:
                        if remaining[0] == 0:
                            return
                        remaining[0] -= 1
                    dt, ok = one()
                    with lock:
                        latencies.append(dt)
                        errors[0] += not ok

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(a.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            rss_after = server.rss_kib()
            lat = sorted(latencies)
            print(f"round {round_ + 1}: requests {len(lat)}, clients {a.clients}, server workers {a.workers}, errors {errors[0]}")
            print(f"  throughput {len(lat) / elapsed:.1f} requests/s over {elapsed:.1f} s")
            print(f"  latency p50 {1000 * statistics.median(lat):.1f} ms, p99 {1000 * lat[int(0.99 * (len(lat) - 1))]:.1f} ms")
            print(f"  server RSS {rss_before / 1024:.1f} MiB after warm-up, {rss_after / 1024:.1f} MiB now "
                  f"({(rss_after - rss_before) / 1024:+.1f} MiB)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
