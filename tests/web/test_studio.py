"""The studio's HTTP API against a real `xraykit serve --studio` process: its own password,
datasets below the data root only, jobs (progress, queue, cancel, failure), reports,
publishing with an atomic swap that survives a restart, and resume after a restart."""
import io
import json
import signal
import socket
import time
import zipfile

import pytest

from conftest import PASSWORD, Server, write_dataset
from test_serve import multipart, request

ADMIN = "studio admin password 42"
ADMIN_AUTH = {"Authorization": "Bearer " + ADMIN}
CLASSIFY_AUTH = {"Authorization": "Bearer " + PASSWORD}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    write_dataset(root / "tiny")
    (root / "tiny" / "NORMAL" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / ".hidden").mkdir()
    (root / "notes.txt").write_text("not a dataset")
    return root


def start(binary, model, workspace, data_root, extra=()):
    return Server(binary, model, ["--studio", str(workspace), "--data-root", str(data_root), *extra],
                  env={"XRAYKIT_ADMIN_PASSWORD": ADMIN})


def api(server, path, body=None, auth=ADMIN_AUTH):
    data = None if body is None else json.dumps(body).encode()
    headers = dict(auth, **({"Content-Type": "application/json"} if data else {}))
    if body is None and path.endswith(("/cancel", "/publish")):
        data = b""
    status, _, out = request(server.url + path, data=data, headers=headers)
    return status, json.loads(out) if out and out[:1] in (b"{", b"[") else out


def submit(server, epochs, data="tiny", image_size=32, **choices):
    """Queues a small job (a quarter of the patients validate) and returns its id."""
    body = {"data": data, "image_size": image_size, "epochs": epochs, "val_fraction": 0.25, **choices}
    status, out = api(server, "/api/studio/jobs", body)
    assert status == 202, out
    return out["id"]


def wait_for(server, job_id, states, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, job = api(server, f"/api/studio/jobs/{job_id}")
        assert status == 200
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {states}: {job}")


def test_the_studio_has_its_own_password(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        assert api(s, "/api/studio/data", auth=CLASSIFY_AUTH)[0] == 401  # classify password: no studio
        assert api(s, "/api/studio/data", auth={})[0] == 401
        assert request(s.url + "/api/model", headers=ADMIN_AUTH)[0] == 401  # and the admin's is not the classify one
        status, headers, _ = request(s.url + "/studio")
        assert status == 303 and headers["Location"] == "/studio/login"
        status, _, page = request(s.url + "/studio/login")
        assert status == 200 and b'action="/studio/login"' in page
        status, headers, _ = request(s.url + "/studio/login", data=f"password={ADMIN}".encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303 and headers["Location"] == "/studio" and "xrk_admin=" in headers["Set-Cookie"]
    finally:
        s.stop()


def test_studio_refuses_to_start_badly(binary, model, data_root, tmp_path):
    with pytest.raises(RuntimeError, match="must differ from the classify password"):
        Server(binary, model, ["--studio", str(tmp_path / "ws")], env={"XRAYKIT_ADMIN_PASSWORD": PASSWORD})
    with pytest.raises(RuntimeError, match="no studio admin password"):
        Server(binary, model, ["--studio", str(tmp_path / "ws")])
    with pytest.raises(RuntimeError, match="belong to the studio"):
        Server(binary, model, ["--data-root", str(data_root)])
    s = start(binary, model, tmp_path / "ws", data_root)
    try:  # one server per studio folder: a second would train the same jobs into the same files
        with pytest.raises(RuntimeError, match="another xraykit serve is using this studio folder"):
            start(binary, model, tmp_path / "ws", data_root)
    finally:
        s.stop()
    s = Server(binary, model)  # without --studio there is no studio
    try:
        assert request(s.url + "/api/studio/data", headers=CLASSIFY_AUTH)[0] == 404
    finally:
        s.stop()


def test_datasets_summary_and_augmentation_preview(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        status, choices = api(s, "/api/studio/data")
        assert status == 200 and choices["datasets"] == ["tiny"]  # no hidden folder, no file
        assert choices["defaults"]["augment"] and "resnet18" in choices["archs"]
        status, summary = api(s, "/api/studio/data/summary?name=tiny")
        assert status == 200 and summary["classes"] == ["NORMAL", "PNEUMONIA"]
        assert summary["class_counts"] == [12, 12] and summary["patients"] == 24
        assert summary["skipped"][0]["path"] == "NORMAL/broken.png" and summary["skipped"][0]["reason"]
        assert "patients on both sides: 0" in summary["split"]
        for name in ("../tiny", "/etc", "tiny/NORMAL", "missing"):
            status, out = api(s, "/api/studio/data/summary?name=" + name.replace("/", "%2F"))
            assert status == 400 and "no dataset named" in out["error"]
        status, _, png = request(s.url + "/api/studio/data/augment.png?name=tiny&augment=robust&size=64",
                                 headers=ADMIN_AUTH)
        assert status == 200 and png.startswith(b"\x89PNG")
        assert api(s, "/api/studio/data/augment.png?name=tiny&augment=wobble=3")[0] == 400
        status, out = api(s, "/api/studio/data/augment.png?name=tiny&size=4096")  # not gigabytes of pixels
        assert status == 400 and "image size" in out["error"]
    finally:
        s.stop()


def test_bad_jobs_are_refused_with_the_reason(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        for body, reason in [({"data": "nowhere"}, "no dataset named"), ({"data": "tiny", "arch": "vgg"}, "vgg"),
                             ({"data": "tiny", "epochs": 0}, "epochs"), ({"data": "tiny", "image_size": 9000}, "size"),
                             ({"data": "tiny", "augment": "spin=4"}, "spin"), ({"arch": "resnet18"}, "needs \"data\""),
                             ({"data": "tiny", "epochs": "many"}, "right types")]:
            status, out = api(s, "/api/studio/jobs", body)
            assert status == 400 and reason in out["error"], (body, out)
        status, _, out = request(s.url + "/api/studio/jobs", data=b"{not json", headers=ADMIN_AUTH)
        assert status == 400
        assert api(s, "/api/studio/jobs")[1]["jobs"] == []
    finally:
        s.stop()


def test_train_report_publish_and_roll_back(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        before = json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])
        first = submit(s, 2, image_size=48)
        second = submit(s, 1, image_size=64)
        job = wait_for(s, first, {"done", "failed"})
        assert job["state"] == "done", job
        assert [h["epoch"] for h in job["history"]] == [1, 2]
        assert job["result"]["split"] == "validation (patient-disjoint)" and 0 <= job["result"]["auc"]["value"] <= 1
        assert job["result"]["auc"]["low"] <= job["result"]["auc"]["value"] <= job["result"]["auc"]["high"]
        assert wait_for(s, second, {"done", "failed"})["state"] == "done"
        status, headers, report = request(s.url + f"/studio/jobs/{first}/report", headers=ADMIN_AUTH)
        assert status == 200 and b"ROC" in report and "unsafe-inline" in headers["Content-Security-Policy"]

        assert api(s, f"/api/studio/jobs/{first}/publish")[0] == 200
        served = json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])
        assert served["image_size"] == 48 and before["image_size"] != 48
        assert api(s, f"/api/studio/jobs/{second}/publish")[0] == 200
        assert json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])["image_size"] == 64
        assert api(s, f"/api/studio/jobs/{first}/publish")[0] == 200  # roll back
        listing = api(s, "/api/studio/jobs")[1]
        assert listing["published"] == first and [j["published"] for j in listing["jobs"]] == [False, True]
        assert api(s, "/api/studio/jobs/19990101-000000-9/publish")[0] == 404
    finally:
        s.stop()
    # A restart serves the published model again, not the one on the command line.
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        assert json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])["image_size"] == 48
        assert [j["state"] for j in api(s, "/api/studio/jobs")[1]["jobs"]] == ["done", "done"]
    finally:
        s.stop()


def test_predictions_continue_while_publishing(binary, model, data_root, tmp_path, png_bytes):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        job = submit(s, 1)
        wait_for(s, job, {"done"})
        body, headers = multipart([("a.png", png_bytes)])
        for i in range(6):
            if i == 3:
                assert api(s, f"/api/studio/jobs/{job}/publish")[0] == 200
            status, _, out = request(s.url + "/api/predict", data=body, headers={**headers, **CLASSIFY_AUTH})
            assert status == 200 and json.loads(out)["results"][0]["label"] in ("NORMAL", "PNEUMONIA")
    finally:
        s.stop()


def test_cancel_a_running_and_a_queued_job(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        running = submit(s, 200)
        queued = submit(s, 1)
        wait_for(s, running, {"running"})
        assert api(s, f"/api/studio/jobs/{queued}")[1]["state"] == "queued"  # one job at a time
        assert api(s, f"/api/studio/jobs/{queued}/cancel")[0] == 200
        assert api(s, f"/api/studio/jobs/{running}/cancel")[0] == 200
        assert wait_for(s, running, {"cancelled", "done"})["state"] == "cancelled"
        assert api(s, f"/api/studio/jobs/{queued}")[1]["state"] == "cancelled"
        assert api(s, f"/api/studio/jobs/{queued}/cancel")[0] == 409
        assert api(s, f"/studio/jobs/{running}/report")[0] == 404
    finally:
        s.stop()


def test_a_job_interrupted_by_a_restart_resumes_from_its_checkpoint(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        job = submit(s, 30)
        deadline = time.time() + 60
        while api(s, f"/api/studio/jobs/{job}")[1]["state"] != "running" or \
                len(api(s, f"/api/studio/jobs/{job}")[1]["history"]) < 2:
            assert time.time() < deadline
            time.sleep(0.05)
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=60)
    finally:
        s.stop()
    before = json.loads((tmp_path / "ws" / "jobs" / job / "job.json").read_text())["history"]
    assert 2 <= len(before) < 30
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        finished = wait_for(s, job, {"done", "failed"}, timeout=300)  # a loaded machine trains slowly
        assert finished["state"] == "done", finished
        # Every epoch once, and the first ones as they were (timings included): the restart went
        # on from the checkpoint instead of training them again.
        assert [h["epoch"] for h in finished["history"]] == list(range(1, 31))
        assert finished["history"][0] == before[0]
    finally:
        s.stop()


def test_threshold_slider_and_the_gallery_of_wrong_images(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        job_id = submit(s, 1)
        job = wait_for(s, job_id, {"done", "failed"})
        result = job["result"]
        # The gallery holds every wrong validation image at the model's threshold (up to 24).
        c = result["confusion"]
        assert len(result["wrong"]) == min(24, c[1] + c[2])
        for k, w in enumerate(result["wrong"]):
            assert w["truth"] != w["predicted"] and w["file"].endswith(".png") and not w["file"].startswith("/")
            status, headers, png = request(s.url + f"/studio/jobs/{job_id}/wrong/{k}.png", headers=ADMIN_AUTH)
            assert status == 200 and png.startswith(b"\x89PNG")
        assert request(s.url + f"/studio/jobs/{job_id}/wrong/{len(result['wrong'])}.png", headers=ADMIN_AUTH)[0] == 404

        at = {t: api(s, f"/api/studio/jobs/{job_id}/threshold?t={t}")[1] for t in (0.01, 0.5, 0.99)}
        assert at[0.5]["sensitivity"]["value"] == result["sensitivity"]["value"]
        assert at[0.01]["sensitivity"]["value"] >= at[0.5]["sensitivity"]["value"] >= at[0.99]["sensitivity"]["value"]
        assert at[0.01]["specificity"]["value"] <= at[0.5]["specificity"]["value"] <= at[0.99]["specificity"]["value"]
        assert all(f["split"] == "validation (patient-disjoint)" and f["threshold"] == t for t, f in at.items())
        for bad in ("0", "1", "1.5", "abc", "0.5x", ""):
            assert api(s, f"/api/studio/jobs/{job_id}/threshold?t={bad}")[0] == 400, bad
        assert api(s, "/api/studio/jobs/19990101-000000-9/threshold?t=0.5")[0] == 400

        assert api(s, f"/api/studio/jobs/{job_id}/publish")[0] == 200
        status, saved = api(s, f"/api/studio/jobs/{job_id}/threshold", {"threshold": 0.3})
        assert status == 200 and saved["result"]["threshold"] == 0.3
        # Saved into the model file, and the published model was swapped for it.
        assert json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])["threshold"] == pytest.approx(0.3)
        assert api(s, f"/api/studio/jobs/{job_id}/threshold", {"threshold": "high"})[0] == 400
    finally:
        s.stop()
    s = start(binary, model, tmp_path / "ws", data_root)  # the saved threshold survives a restart
    try:
        assert json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])["threshold"] == pytest.approx(0.3)
    finally:
        s.stop()


def zip_bytes(files):
    """A zip made with Python's zipfile: {name: bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def upload(server, name, body, auth=ADMIN_AUTH):
    status, _, out = request(server.url + f"/api/studio/uploads?name={name}", data=body,
                             headers=dict(auth, **{"Content-Type": "application/zip"}))
    return status, json.loads(out) if out[:1] == b"{" else out


def test_upload_a_zip_of_class_folders_or_a_manifest(binary, model, data_root, tmp_path):
    tiny = data_root / "tiny"
    images = {f"chest/{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(tiny.glob("*/*.png"))}
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        status, out = upload(s, "clinic-a", zip_bytes({**images, "chest/notes.txt": b"hello"}))
        assert status == 201, out
        assert out["files"] == 25 and [k["entry"] for k in out["skipped"]] == ["chest/notes.txt"]
        assert "clinic-a" in api(s, "/api/studio/data")[1]["datasets"]
        status, summary = api(s, "/api/studio/data/summary?name=clinic-a")  # the one top folder was unwrapped
        assert status == 200 and summary["class_counts"] == [12, 12] and summary["skipped"][0]["path"] == "NORMAL/broken.png"
        assert upload(s, "clinic-a", zip_bytes(images))[0] == 400  # the name is taken
        assert upload(s, "tiny", zip_bytes(images))[0] == 400      # and so is the data root's

        rows = ["path,label,patient"] + [f"img/{i}.png,{'sick' if 'PNEUMONIA' in n else 'well'},p{i}"
                                         for i, n in enumerate(images) if "broken" not in n]
        manifest = {"list.csv": "\n".join(rows).encode()}
        manifest.update({f"img/{i}.png": data for i, (n, data) in enumerate(images.items()) if "broken" not in n})
        status, out = upload(s, "manifest", zip_bytes(manifest))
        assert status == 201, out
        status, summary = api(s, "/api/studio/data/summary?name=manifest")
        assert status == 200 and summary["classes"] == ["sick", "well"] and summary["patients"] == 24
        job = submit(s, 1, data="manifest")
        assert wait_for(s, job, {"done", "failed"})["state"] == "done"
    finally:
        s.stop()


def test_hostile_and_broken_uploads(binary, model, data_root, tmp_path):
    png = (data_root / "tiny" / "NORMAL").glob("person*.png").__next__().read_bytes()
    s = start(binary, model, tmp_path / "ws", data_root, ["--max-upload-mb", "1"])
    try:
        status, out = upload(s, "climb", zip_bytes({"../../escaped.png": png, "/abs/x.png": png, "A/ok.png": png,
                                                    "B/ok.png": png}))
        assert status == 201 and out["files"] == 2
        reasons = {k["entry"]: k["reason"] for k in out["skipped"]}
        assert "goes up" in reasons["../../escaped.png"] and "absolute" in reasons["/abs/x.png"]
        assert not list(tmp_path.rglob("escaped.png"))
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("A/bomb.png", b"\0" * (300 << 20))  # 300 MB of zeros in about 300 KB
        status, out = upload(s, "bomb", bomb.getvalue())
        assert status == 400 and "limit per file" in out["error"]
        assert upload(s, "text", zip_bytes({"A/a.txt": b"x"}))[1]["error"] == "the zip holds no images"
        assert "not a zip file" in upload(s, "junk", b"PK" + b"\0" * 5000)[1]["error"]
        # A manifest may not point at files outside its upload.
        manifest = {"list.csv": f"A/ok.png,A\nB/ok.png,B\n../../secret.png,A\n{data_root}/tiny/NORMAL/x.png,B\n".encode(),
                    "A/ok.png": png, "B/ok.png": png}
        assert upload(s, "sneaky", zip_bytes(manifest))[0] == 201
        status, summary = api(s, "/api/studio/data/summary?name=sneaky")
        assert status == 200 and summary["images"] == 2
        assert [k["reason"] for k in summary["skipped"]] == ["the path leads out of the manifest's folder"] * 2
        for bad in ("..", ".hidden", "a%2Fb", "x" * 65, ""):
            assert upload(s, bad, zip_bytes({"A/a.png": png}))[0] == 400, bad
        assert api(s, "/api/studio/data")[1]["max_upload_bytes"] == 1 << 20
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:  # over --max-upload-mb: refused unread
            c.sendall(f"POST /api/studio/uploads?name=big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
                      f"Content-Length: {2 << 20}\r\n\r\n".encode())
            assert c.recv(100).startswith(b"HTTP/1.1 413")
        assert upload(s, "anon", zip_bytes({"A/a.png": png}), auth={})[0] == 401
        assert upload(s, "classify", zip_bytes({"A/a.png": png}), auth=CLASSIFY_AUTH)[0] == 401
        assert sorted(api(s, "/api/studio/data")[1]["datasets"]) == ["climb", "sneaky", "tiny"]
        assert not [p for p in (tmp_path / "ws" / "uploads").iterdir() if p.name.startswith(".")]  # nothing left over
        # Other routes refuse big bodies before reading them, though uploads may be large: the
        # answer comes after the headers alone.
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(f"POST /api/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PASSWORD}\r\n"
                      f"Content-Length: {40 << 20}\r\n\r\n".encode())
            assert c.recv(100).startswith(b"HTTP/1.1 413")
        for head in (b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
                     b"POST /login HTTP/1.1\r\nHost: x\r\n\r\n",  # no length: would be read until the client stops
                     b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
                c.sendall(head)
                assert c.recv(100).startswith(b"HTTP/1.1 411"), head
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:  # only POST uploads may be large
            c.sendall(f"PUT /api/studio/uploads?name=x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
                      f"Content-Length: {40 << 20}\r\n\r\n".encode())
            assert c.recv(100).startswith(b"HTTP/1.1 413")
    finally:
        s.stop()


def test_auto_select_within_a_time_budget(binary, model, data_root, tmp_path):
    s = start(binary, model, tmp_path / "ws", data_root)
    try:
        assert api(s, "/api/studio/jobs", {"data": "tiny", "auto_select": True, "budget_minutes": 0})[0] == 400
        job_id = submit(s, 1, arch="resnet50", auto_select=True, budget_minutes=1)
        job = wait_for(s, job_id, {"done", "failed"}, timeout=300)
        assert job["state"] == "done", job
        choice = job["auto_choice"]
        # What it measured (each candidate it timed) and why it chose, kept with the job.
        assert choice["arch"] in choice["measured_images_per_second"] and choice["reason"]
        assert len(job["history"]) == choice["epochs"] and choice["budget_seconds"] == 60
        status, _, card = request(s.url + f"/studio/jobs/{job_id}/card", headers=ADMIN_AUTH)
        assert status == 200 and b"Auto-select" in card and choice["arch"].encode() in card
        assert api(s, f"/api/studio/jobs/{job_id}/publish")[0] == 200
        served = json.loads(request(s.url + "/api/model", headers=CLASSIFY_AUTH)[2])
        assert served["arch"] == choice["arch"] and served["provenance"]["auto_select"]["reason"] == choice["reason"]
    finally:
        s.stop()
