"""Server abuse on loopback (issue 12): a real `xraykit serve` under a mix of hostile and normal
traffic from several threads, for a bounded number of requests:
  uploads (valid images, also large ones, by a user with a session), malformed multipart,
  oversize bodies, password guessing on every path (form, Bearer, Basic; many client
  addresses through a trusted proxy), odd and encoded paths, odd methods, malformed request
  lines, and all along 40 slow clients holding half-sent requests.
Meanwhile /healthz is asked every 0.25 s. Passes ("abuse test OK") when no reply to client
input is a 5xx (503 = queue full, for uploads, is an answer), every /healthz answers within
1 s, the user's session keeps working through the guessing, and the server's resident memory
grows by less than 64 MiB between the first tenth of the requests and the end.

  python3 scripts/abuse_test.py BUILD/bin/xraykit MODEL.xrk [--requests N] [--clients K]
"""
import argparse
import base64
import collections
import http.client
import itertools
import random
import socket
import struct
import sys
import threading
import time
import zlib

from serve_process import Server

PASSWORD = "abuse-test-password-1234"


def png(w, h, seed):
    raw = b"".join(b"\x00" + bytes((x * 3 + y * 5 + seed) % 256 for x in range(w)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def multipart(files, boundary="abuse0boundary"):
    body = b""
    for name, content in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class Target:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.getheader("Set-Cookie") or "", r.read()
        finally:
            c.close()

    def raw(self, data, timeout=10):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
            except (ConnectionResetError, BrokenPipeError):
                return None
        return int(reply[9:12]) if reply.startswith(b"HTTP/1.1 ") else None


class Abuse:
    def __init__(self, target, session_cookie):
        self.t = target
        self.cookie = session_cookie
        small, large = png(224, 224, 1), png(1500, 1200, 2)
        self.upload_small = multipart([("a.png", small), ("b.png", png(300, 260, 3))])
        self.upload_large = multipart([("large.png", large)])
        self.broken = [
            (b"--abuse0boundary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n" + small[:500],
             {"Content-Type": "multipart/form-data; boundary=abuse0boundary"}),
            (self.upload_small[0], {"Content-Type": "multipart/form-data; boundary=other"}),
            (self.upload_small[0], {"Content-Type": "multipart/form-data"}),
            (b"--abuse0boundary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.png\"\r\n\r\nnot an image\r\n--abuse0boundary--\r\n",
             {"Content-Type": "multipart/form-data; boundary=abuse0boundary"}),
            (b"\x00" * 3000, {"Content-Type": "image/png"}),
        ]
        self.statuses = collections.defaultdict(collections.Counter)
        self.faults = []
        self.lock = threading.Lock()
        self.rng = random.Random(7)

    def note(self, kind, status, ok):
        with self.lock:
            self.statuses[kind][status] += 1
            if not ok:
                self.faults.append((kind, status))

    def predict(self, i):
        body, headers = self.upload_large if i % 10 == 0 else self.upload_small
        status, _, _ = self.t.request("POST", "/api/predict", body, {**headers, "Cookie": self.cookie})
        self.note("upload", status, status in (200, 503))

    def malformed(self, i):
        body, headers = self.broken[i % len(self.broken)]
        status, _, _ = self.t.request("POST", "/api/predict", body, {**headers, "Cookie": self.cookie})
        self.note("malformed multipart", status, 400 <= status < 500 or status == 503)

    def oversize(self, i):
        # Says 3 GiB, sends a little: refused from the header (413), or the connection is closed.
        status = self.t.raw(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nCookie: " + self.cookie.encode()
                            + b"\r\nContent-Type: image/png\r\nContent-Length: 3221225472\r\n\r\n" + b"\x89PNG" * 100)
        self.note("oversize body", status, status in (None, 413))

    def guess(self, i):
        client = {"X-Forwarded-For": f"10.0.{i % 250}.{i % 7}"}
        how = i % 3
        if how == 0:
            status, _, _ = self.t.request("POST", "/login", f"password=guess{i}".encode(),
                                          {**client, "Content-Type": "application/x-www-form-urlencoded"})
        elif how == 1:
            status, _, _ = self.t.request("GET", "/api/model", headers={**client, "Authorization": f"Bearer guess{i}"})
        else:
            basic = base64.b64encode(f"u:guess{i}".encode()).decode()
            status, _, _ = self.t.request("GET", "/api/model", headers={**client, "Authorization": "Basic " + basic})
        self.note("password guess", status, status in (401, 429))

    ODD_PATHS = ["/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd", "//api//predict", "/api/predict/../model",
                 "/" + "a" * 8000, "/%00", "/%ff%fe", "/login?x=" + "%" * 300, "/api/model?" + "&" * 2000,
                 "/app.js%00.png", "/studio/", "/api/studio/jobs"]
    ODD_METHODS = ["PROPFIND", "TRACE", "OPTIONS", "CONNECT", "PATCH", "DELETE", "PUT", "HEAD", "FOO"]
    RAW = [b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 3000 + b"\r\n",
           b"POST /login HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
           b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello", b"\r\n\r\n\r\n", b"GET /healthz HTTP/1.0\r\n\r\n",
           "GET /\u00e9t\u00e9 HTTP/1.1\r\n\r\n".encode(), b"GET /\xff\xfe HTTP/1.1\r\n\r\n"]

    def odd(self, i):
        kind = i % 3
        if kind == 0:
            path = self.ODD_PATHS[i % len(self.ODD_PATHS)]
            status, _, _ = self.t.request("GET", path, headers={"Cookie": self.cookie})
        elif kind == 1:
            method = self.ODD_METHODS[i % len(self.ODD_METHODS)]
            status, _, _ = self.t.request(method, "/api/predict", body=b"", headers={"Cookie": self.cookie})
        else:
            status = self.t.raw(self.RAW[i % len(self.RAW)])
        self.note("odd request", status, status is None or status < 500)

    def session_works(self):
        status, _, _ = self.t.request("GET", "/api/model", headers={"Cookie": self.cookie})
        self.note("session during guessing", status, status == 200)


def slow_clients(port, stop, count=40):
    held = []
    while not stop.is_set():
        while len(held) < count:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Le")
                held.append(s)
            except OSError:
                break
        time.sleep(0.5)
        for s in list(held):  # replace the ones the server cut off
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    raise OSError
            except BlockingIOError:
                continue
            except OSError:
                pass
            held.remove(s)
            s.close()
    for s in held:
        s.close()


def health_monitor(target, stop, latencies):
    while not stop.is_set():
        start = time.monotonic()
        try:
            status, _, _ = target.request("GET", "/healthz", timeout=5)
        except OSError:
            status = None
        latencies.append((time.monotonic() - start, status))
        time.sleep(0.25)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()

    server = Server(args.binary, args.model, ["--trusted-proxy", "127.0.0.1", "--header-timeout", "2", "--max-body-mb", "8",
                                              "--workers", "2", "--queue", "8"], password=PASSWORD)
    port = server.port
    target = Target(port)
    try:
        status, cookie, _ = target.request("POST", "/login", f"password={PASSWORD}".encode(),
                                           {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "10.9.9.9"})
        cookie = cookie.split(";")[0]
        assert status == 303 and cookie, f"the login failed: {status}"
        abuse = Abuse(target, cookie)
        stop = threading.Event()
        latencies = []
        helpers = [threading.Thread(target=slow_clients, args=(port, stop)),
                   threading.Thread(target=health_monitor, args=(target, stop, latencies))]
        for h in helpers:
            h.start()

        actions = [abuse.predict, abuse.malformed, abuse.oversize, abuse.guess, abuse.guess, abuse.odd, abuse.odd]
        counter = itertools.count()
        rss = {}
        start = time.monotonic()

        def client():
            while (i := next(counter)) < args.requests:
                if i == args.requests // 10:
                    rss["warm"] = server.rss_kib()
                try:
                    actions[i % len(actions)](i)
                    if i % 500 == 0:
                        abuse.session_works()
                except OSError as e:  # the server may cut off what it refuses
                    abuse.note(actions[i % len(actions)].__name__ + " (no reply: " + type(e).__name__ + ")", None, True)
                except Exception as e:  # a fault of this script: it must not pass silently
                    abuse.note("script error: " + repr(e), None, False)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - start
        rss["end"] = server.rss_kib()
        rss["peak"] = server.rss_kib("VmHWM")
        stop.set()
        for h in helpers:
            h.join()
        abuse.session_works()
    finally:
        server.stop()

    worst = max(latencies)[0] if latencies else float("inf")
    late = [x for x in latencies if x[0] >= 1.0 or x[1] != 200]
    growth = (rss["end"] - rss["warm"]) / 1024
    print(f"{args.requests} requests from {args.clients} clients in {seconds:.1f} s, 40 slow clients held throughout")
    for kind, counts in sorted(abuse.statuses.items()):
        print(f"  {kind}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)))
    print(f"/healthz: {len(latencies)} checks, slowest {worst * 1000:.0f} ms, {len(late)} late or failed")
    print(f"server memory: {rss['warm'] / 1024:.0f} MiB after the first tenth, {rss['end'] / 1024:.0f} MiB at the end "
          f"(growth {growth:+.0f} MiB), peak {rss['peak'] / 1024:.0f} MiB")
    log = server.proc.stdout.read()
    problems = []
    if abuse.faults:
        problems.append(f"{len(abuse.faults)} wrong replies, e.g. {abuse.faults[:5]}")
    if late or not latencies:
        problems.append(f"/healthz late or failing: {late[:5]}")
    if growth >= 64:
        problems.append(f"memory grew by {growth:.0f} MiB")
    if "internal error" in log or "Sanitizer" in log:
        problems.append("the server log shows internal errors:\n" + log[-2000:])
    if problems:
        print("abuse test FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("abuse test OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
