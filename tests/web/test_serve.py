"""HTTP tests against a real `xraykit serve` process with a real client (urllib)."""
import base64
import csv
import io
import http.cookiejar
import json
import signal
import socket
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import PASSWORD, Server, write_png


def request(url, data=None, headers=None, method=None, opener=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with (opener or urllib.request.build_opener(NoRedirect)).open(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def multipart(files):
    boundary = uuid.uuid4().hex
    body = b""
    for name, content in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


BEARER = {"Authorization": "Bearer " + PASSWORD}


def test_healthz_is_public(server):
    status, headers, body = request(server.url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"


@pytest.mark.parametrize("method,path", [
    ("GET", "/"), ("GET", "/app.js"), ("GET", "/model"), ("GET", "/api/model"), ("POST", "/api/predict"),
    ("POST", "/logout"), ("GET", "/no/such/page"), ("GET", "/login/../api/model")])
def test_every_route_but_healthz_and_login_needs_auth(server, method, path):
    status, headers, _ = request(server.url + path, data=b"" if method == "POST" else None, method=method)
    if method == "GET" and not path.startswith("/api/") and "/api/" not in path:
        assert status == 303 and headers["Location"] == "/login"
    else:
        assert status in (401, 303)


def test_security_headers(server):
    for path in ("/healthz", "/login", "/"):
        _, headers, _ = request(server.url + path)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_login_form_sets_a_strict_httponly_cookie(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    status, headers, _ = request(server.url + "/login", data=f"password={PASSWORD.replace(' ', '+')}".encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, opener=opener)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, _, body = request(server.url + "/", opener=opener)
    assert status == 200 and b"/app.js" in body and b"<script>" not in body
    status, _, body = request(server.url + "/model", opener=opener)
    assert status == 200 and b"not a diagnosis" in body.lower() or b"Not a diagnosis" in body
    status, headers, _ = request(server.url + "/logout", data=b"", opener=opener)
    assert status == 303
    status, _, _ = request(server.url + "/api/model", opener=opener)
    assert status == 401


def test_bearer_and_basic(server):
    status, _, body = request(server.url + "/api/model", headers=BEARER)
    assert status == 200 and json.loads(body)["classes"] == ["NORMAL", "PNEUMONIA"]
    basic = base64.b64encode(f"anyone:{PASSWORD}".encode()).decode()
    assert request(server.url + "/api/model", headers={"Authorization": "Basic " + basic})[0] == 200
    assert request(server.url + "/api/model", headers={"Authorization": "Bearer wrong"})[0] == 401


def test_predict_multipart_raw_and_heatmap(server, png_bytes):
    body, headers = multipart([("a.png", png_bytes), ("b.png", png_bytes)])
    status, _, out = request(server.url + "/api/predict?heatmap=1", data=body, headers={**headers, **BEARER})
    assert status == 200
    res = json.loads(out)
    assert [r["file"] for r in res["results"]] == ["a.png", "b.png"]
    r = res["results"][0]
    assert r["label"] in ("NORMAL", "PNEUMONIA") and abs(sum(r["probabilities"].values()) - 1) < 1e-4
    assert r["heatmap_png"].startswith("data:image/png;base64,")
    status, _, out = request(server.url + "/api/predict", data=png_bytes, headers=BEARER)
    assert status == 200 and "heatmap_png" not in json.loads(out)["results"][0]


def test_results_carry_the_decision_and_the_predictions_csv(server, png_bytes):
    """A page that gathers many requests writes the CSV of `xraykit predict --csv` from these."""
    body, headers = multipart([("=cmd|calc.png", png_bytes), ("b,c.png", png_bytes)])
    status, _, out = request(server.url + "/api/predict", data=body, headers={**headers, **BEARER})
    assert status == 200
    res = json.loads(out)
    assert res["csv_header"] == "path,label,p_NORMAL,p_PNEUMONIA,ood_score,error\n"
    rows = list(csv.reader(io.StringIO(res["csv_header"] + "".join(r["csv_row"] for r in res["results"]))))
    assert [row[0] for row in rows[1:]] == ["'=cmd|calc.png", "b,c.png"]  # a formula is defused
    for r, row in zip(res["results"], rows[1:]):
        assert len(row) == 6 and row[1] == r["decision"] and abs(float(row[3]) - r["positive_probability"]) < 1e-5
        assert r["decision"] == ("UNCERTAIN" if r["out_of_distribution"] else r["label"])
    status, _, out = request(server.url + "/api/model", headers=BEARER)
    limits = json.loads(out)["limits"]
    assert limits["max_files"] == 4 and limits["max_body_bytes"] == 1 << 20 and json.loads(out)["positive_class"] == "PNEUMONIA"


def test_errors_and_limits(server, png_bytes, tmp_path):
    body, headers = multipart([("scan.png", png_bytes), ("notes.txt", b"not an image")])
    status, _, out = request(server.url + "/api/predict", data=body, headers={**headers, **BEARER})
    assert status == 400 and json.loads(out)["file"] == "notes.txt" and json.loads(out)["index"] == 1
    body, headers = multipart([(f"{i}.png", png_bytes) for i in range(5)])
    status, _, out = request(server.url + "/api/predict", data=body, headers={**headers, **BEARER})
    assert status == 400 and "limit is 4" in json.loads(out)["error"]
    big = tmp_path / "big.png"
    write_png(big, 600, 600, lambda x, y: 0)  # 360,000 pixels > 250,000
    status, _, out = request(server.url + "/api/predict", data=big.read_bytes(), headers=BEARER)
    assert status == 400 and "above the limit" in json.loads(out)["error"]
    # Over --max-body-mb: refused from the headers, before the body is read (the server then
    # closes, so the answer is read right after the headers are sent).
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as c:
        c.sendall(f"POST /api/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PASSWORD}\r\n"
                  f"Content-Length: {2 << 20}\r\n\r\n".encode())
        assert c.recv(100).startswith(b"HTTP/1.1 413")
    status, _, out = request(server.url + "/api/predict", data=b"", headers=BEARER)
    assert status == 400


def test_failed_logins_are_rate_limited(binary, model):
    s = Server(binary, model)
    try:
        codes = [request(s.url + "/login", data=b"password=wrong",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})[0] for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        status, headers, _ = request(s.url + "/login", data=f"password={PASSWORD}".encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 429 and int(headers["Retry-After"]) > 0  # even the right password waits
    finally:
        s.stop()


def test_full_queue_answers_503(binary, model, png_bytes):
    s = Server(binary, model, ["--workers", "1", "--queue", "0"])
    try:
        codes = []

        def hit():
            body, headers = multipart([("a.png", png_bytes)] * 4)
            codes.append(request(s.url + "/api/predict?heatmap=1", data=body, headers={**headers, **BEARER})[0])

        # Bursts of simultaneous requests until one is turned away (bounded: five bursts).
        for _ in range(5):
            threads = [threading.Thread(target=hit) for _ in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if 503 in codes:
                break
        assert 200 in codes and 503 in codes and set(codes) <= {200, 503}
    finally:
        s.stop()


def test_clean_shutdown_on_sigterm_and_sigint(binary, model):
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = Server(binary, model)
        s.proc.send_signal(sig)
        assert s.proc.wait(timeout=30) == 0
        assert "shutting down" in s.proc.stdout.read()


def test_no_password_refuses_to_start(binary, model):
    import subprocess
    import os
    env = {k: v for k, v in os.environ.items() if k != "XRAYKIT_PASSWORD"}
    r = subprocess.run([binary, "serve", str(model)], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "no password" in r.stderr
    r = subprocess.run([binary, "serve", str(model), "--password", "x"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
