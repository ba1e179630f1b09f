"""The Python module: datasets, augmentation, models, errors, NumPy checks."""
import math

import numpy as np
import pytest

import xraykit


def blobs(n, seed, size=32):
    rng = np.random.default_rng(seed)
    images = rng.integers(60, 100, size=(n, size, size), dtype=np.uint8)
    labels = [i % 2 for i in range(n)]
    for i in range(1, n, 2):
        y, x = rng.integers(5, size - 5, size=2)
        images[i, y - 4:y + 4, x - 4:x + 4] = 230
    patients = [f"p{i // 2}" for i in range(n)]
    return xraykit.Dataset.from_arrays(images, labels, ["plain", "blob"], patients, image_size=size)


def test_dataset_from_arrays_split_and_batch():
    d = blobs(40, 1)
    assert len(d) == 40
    assert d.classes == ["plain", "blob"]
    assert d.class_counts() == [20, 20]
    train, val = d.split(0.25, seed=3)
    train_p = {train.patient(i) for i in range(len(train))}
    assert all(val.patient(i) not in train_p for i in range(len(val)))
    x, y = d.batch([0, 1, 2])
    assert x.shape == (3, 1, 32, 32) and x.dtype == np.float32
    assert list(y) == [0, 1, 0]
    assert d.image(1).shape == (32, 32) and d.image(1).dtype == np.uint8


def write_png(path, array):
    """A minimal grey 8-bit PNG writer (standard library only)."""
    import struct
    import zlib

    h, w = array.shape
    raw = b"".join(b"\x00" + array[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_dataset_from_folder(tmp_path):
    for c, cls in enumerate(("NORMAL", "PNEUMONIA")):
        (tmp_path / cls).mkdir()
        for i in range(3):
            write_png(tmp_path / cls / f"person{c * 10 + i}_virus_{i}.png", np.full((40, 50), 40 * i, dtype=np.uint8))
    (tmp_path / "NORMAL" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    d = xraykit.Dataset.from_folder(str(tmp_path), image_size=32)
    assert d.class_counts() == [3, 3]
    assert len(d.skipped) == 1 and d.skipped[0][0].endswith("broken.png")
    with pytest.raises(xraykit.DatasetError, match="broken.png"):
        xraykit.Dataset.from_folder(str(tmp_path), image_size=32, strict=True)
    with pytest.raises(FileNotFoundError):
        xraykit.Dataset.from_folder(str(tmp_path / "missing"))
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(xraykit.DatasetError, match="no usable images"):
        xraykit.Dataset.from_folder(str(tmp_path / "empty"))


def test_numpy_shape_and_dtype_errors_name_the_problem():
    m = xraykit.ResNetClassifier("resnet18", image_size=32)
    with pytest.raises(TypeError, match="dtype must be uint8 or float32"):
        m.predict(np.zeros((32, 32), dtype=np.int32))
    with pytest.raises(ValueError, match="channels"):
        m.predict(np.zeros((32, 32, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.predict(np.full((32, 32), 3.0, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension"):
        xraykit.Dataset.from_arrays(np.zeros((2, 2), dtype=np.uint8), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="expected float32 of shape"):
        m.logits(np.zeros((1, 3, 32, 32), dtype=np.float32))
    with pytest.raises(TypeError):
        m.predict(42)


def test_predict_forms():
    m = xraykit.ResNetClassifier("resnet18", classes=["NORMAL", "PNEUMONIA"], image_size=32)
    one = m.predict(np.full((50, 40), 0.5, dtype=np.float32))
    assert set(one) == {"label", "class_name", "probabilities", "ood_score", "out_of_distribution"}
    assert math.isnan(one["ood_score"]) and not one["out_of_distribution"]  # an untrained model has no check
    assert not m.has_ood_check
    assert abs(sum(one["probabilities"]) - 1) < 1e-5
    many = m.predict(np.zeros((3, 32, 32), dtype=np.uint8))
    assert len(many) == 3
    rgb = m.predict(np.zeros((32, 32, 3), dtype=np.uint8))
    assert len(rgb["probabilities"]) == 2
    mixed = m.predict([np.zeros((20, 20), dtype=np.uint8), np.zeros((30, 30, 3), dtype=np.uint8)])
    assert len(mixed) == 2
    m.threshold = 0.0
    assert m.predict(np.zeros((32, 32), dtype=np.uint8))["class_name"] == "PNEUMONIA"
    with pytest.raises(xraykit.InvalidArgument):
        m.threshold = 2.0
    with pytest.raises(FileNotFoundError):
        m.predict("/nonexistent/scan.png")


def test_augmenter():
    a = xraykit.Augmenter("strong")
    img = np.random.default_rng(0).integers(0, 255, size=(48, 48), dtype=np.uint8)
    assert np.array_equal(a(img, 5), a(img, 5))
    assert not np.array_equal(a(img, 5), a(img, 6))
    with pytest.raises(xraykit.InvalidArgument, match="wobble"):
        xraykit.Augmenter("rotate=3,wobble=1")
    with pytest.raises(ValueError, match="square"):
        a(np.zeros((10, 12), dtype=np.uint8), 1)
    sheet = a.contact_sheet(blobs(4, 2), rows=2, cols=3)
    assert sheet.shape == (2 * 36 + 4, 4 * 36 + 4)


def test_fit_callback_save_load(tmp_path):
    train, val = blobs(96, 3), blobs(32, 4)
    m = xraykit.ResNetClassifier("resnet18", classes=["plain", "blob"], image_size=32, seed=1)
    seen = []
    r = m.fit(train, val, epochs=3, batch_size=16, learning_rate=2e-3, augment="none", bootstrap=50,
              warmup_epochs=0.5, callback=seen.append)
    assert len(r["history"]) == 3
    assert any(p["epoch_end"] for p in seen)
    assert r["best_val_auc"] > 0.9
    assert r["validation"].split == "validation (patient-disjoint)"
    assert r["validation"].confusion_matrix.shape == (2, 2)
    assert r["validation"].to_dict()["bootstrap"]["unit"] == "patient"
    path = tmp_path / "m.xrk"
    m.save(str(path))
    back = xraykit.ResNetClassifier.load(str(path))
    x = np.zeros((32, 32), dtype=np.uint8)
    assert back.predict(x)["probabilities"] == m.predict(x)["probabilities"]
    assert back.provenance["best_epoch"] == r["best_epoch"]
    assert r["kept_epoch"] == 3  # the last epoch, by default
    assert not back.exact_inference
    assert back.has_ood_check  # fit() fits the out-of-distribution check, and it is saved
    scores = back.ood_scores(val)
    assert scores.shape == (32,) and (scores <= 1).mean() > 0.9
    assert back.predict(np.full((32, 32), 255, dtype=np.uint8))["out_of_distribution"]
    back.fit_ood(train, val, quantile=0.5)
    assert 0.2 < (back.ood_scores(blobs(64, 9)) > 1).mean() < 0.8
    with pytest.raises(xraykit.InvalidArgument, match="quantile"):
        back.fit_ood(train, val, quantile=0)
    fast = back.predict(val.image(1))["probabilities"]
    back.exact_inference = True
    exact = back.predict(val.image(1))["probabilities"]
    assert max(abs(a - b) for a, b in zip(fast, exact)) < 0.03
    ex = m.explain(val.image(1), 1)
    assert ex["heatmap"].shape == (32, 32) and 0 <= ex["heatmap"].min() and ex["heatmap"].max() <= 1
    assert ex["overlay"].shape == (32, 32, 3) and ex["overlay_png"][:4] == b"\x89PNG"
    with pytest.raises(xraykit.InvalidArgument, match="layer9"):
        m.explain(val.image(1), 1, "layer9")
    r["validation"].save_html(str(tmp_path / "r.html"), r["history"])
    assert "<svg" in (tmp_path / "r.html").read_text()


def test_callback_can_stop_and_errors_propagate():
    train, val = blobs(64, 5), blobs(16, 6)
    m = xraykit.ResNetClassifier("resnet18", classes=["plain", "blob"], image_size=32)
    r = m.fit(train, val, epochs=5, batch_size=16, augment="none", bootstrap=0,
              callback=lambda p: not (p["epoch"] == 2 and p["epoch_end"]))
    assert r["cancelled"] and len(r["history"]) == 2

    def boom(p):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        m.fit(train, val, epochs=1, batch_size=16, callback=boom)
    with pytest.raises(ValueError, match="balance"):
        m.fit(train, val, balance="fair")
    with pytest.raises(ValueError, match="threshold rule 'middle'"):
        m.fit(train, val, threshold_rule="middle")
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        m.fit(train, val, epoch=3)


def test_model_file_errors(tmp_path):
    bad = tmp_path / "bad.xrk"
    bad.write_bytes(b"hello")
    with pytest.raises(xraykit.ModelError, match="not an xraykit model"):
        xraykit.ResNetClassifier.load(str(bad))
    with pytest.raises(FileNotFoundError):
        xraykit.ResNetClassifier.load(str(tmp_path / "none.xrk"))
    with pytest.raises(xraykit.InvalidArgument, match="resnet19"):
        xraykit.ResNetClassifier("resnet19")
    assert issubclass(xraykit.InvalidArgument, xraykit.Error)
    assert issubclass(xraykit.InvalidArgument, ValueError)


def test_evaluator_by_hand():
    e = xraykit.Evaluator(["n", "p"], threshold=0.5, bootstrap=0)
    for prob, label in [(0.1, 0), (0.7, 0), (0.9, 1), (0.4, 1)]:
        e.add([1 - prob, prob], label, f"pt{label}{prob}")
    ev = e.evaluate()
    assert ev.confusion_matrix.tolist() == [[1, 1], [1, 1]]
    assert ev.to_dict()["accuracy"]["value"] == pytest.approx(0.5)


def test_ctrl_c_stops_training_cleanly(tmp_path):
    """SIGINT during fit (as Ctrl-C in a notebook) ends training at the next step, with the
    best epoch so far kept, instead of killing the process or losing the model."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "train.py"
    script.write_text(
        "import sys, numpy as np, xraykit\n"
        "rng = np.random.default_rng(0)\n"
        "imgs = rng.integers(0, 255, size=(256, 32, 32), dtype=np.uint8)\n"
        "d = xraykit.Dataset.from_arrays(imgs, [i % 2 for i in range(256)], ['a', 'b'], image_size=32)\n"
        "train, val = d.split(0.25, seed=1)\n"
        "m = xraykit.ResNetClassifier('resnet18', classes=['a', 'b'], image_size=32)\n"
        "def cb(p):\n"
        "    if p['epoch_end']: print('epoch', p['epoch'], flush=True)\n"
        "r = m.fit(train, val, epochs=200, batch_size=16, augment='none', bootstrap=0, callback=cb)\n"
        "print('interrupted', r['interrupted'], 'epochs', len(r['history']), flush=True)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    first = proc.stdout.readline()  # wait for one finished epoch
    assert first.startswith("epoch 1")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "interrupted True" in out


def test_evaluator_evaluate_while_another_thread_adds():
    """Issue 12, item 13: evaluate() releases the GIL; add() from another thread must not
    reallocate what it reads."""
    import threading
    ev = xraykit.Evaluator(["a", "b"], bootstrap=200)
    for i in range(200):
        ev.add([0.3, 0.7] if i % 2 else [0.8, 0.2], i % 2, f"p{i}")

    def adder():  # bounded: enough to grow the vectors many times over
        for i in range(20_000):
            ev.add([0.5, 0.5], i % 2, f"q{i}")

    t = threading.Thread(target=adder)
    t.start()
    evaluations = 0
    while t.is_alive() or evaluations < 3:
        assert ev.evaluate().to_dict()["images"] >= 200
        evaluations += 1
    t.join()
    assert len(ev) == 20_200


def test_float32_arrays_of_an_equal_dtype_are_accepted():
    import numpy as np
    m = xraykit.ResNetClassifier("resnet18", ["a", "b"], image_size=32)
    img = np.full((32, 32), 0.5, dtype=np.dtype("float32").newbyteorder(">"))
    assert len(m.predict(img)["probabilities"]) == 2
    assert len(m.predict(np.zeros((32, 32), dtype=np.dtype("u1")))["probabilities"]) == 2


def test_fit_in_one_thread_while_others_predict():
    """Issue 12, item 13: fit and predict on one model from several Python threads. Predictions
    during fit are whole (probabilities summing to 1); after it, every thread sees the trained
    model."""
    import threading
    train, val = blobs(96, 21), blobs(32, 22)
    m = xraykit.ResNetClassifier("resnet18", ["plain", "blob"], image_size=32)
    probe = val.image(1)
    training = threading.Event()
    training.set()
    answered, errors = [], []

    def reader():
        try:
            while training.is_set():
                p = m.predict(probe)["probabilities"]
                assert len(p) == 2 and abs(sum(p) - 1) < 1e-4, p
                answered.append(p)
        except Exception as e:  # reported in the main thread
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    r = m.fit(train, val, epochs=2, batch_size=16, augment="none", bootstrap=0)
    training.clear()
    for t in readers:
        t.join()
    assert not errors, errors
    assert len(r["history"]) == 2 and answered
    after = m.predict(probe)["probabilities"]
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(m.predict(probe)["probabilities"])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [after] * 4


def test_evaluate_with_test_time_augmentation_averages_predict_tta():
    d = blobs(12, 4)
    m = xraykit.ResNetClassifier("resnet18", classes=["plain", "blob"], image_size=32)
    images = np.stack([d.image(i) for i in range(len(d))])
    tta = np.array([p["probabilities"] for p in m.predict(images, tta=True)])
    plain = np.array([p["probabilities"] for p in m.predict(images)])
    assert np.abs(tta - plain).max() > 1e-4

    def ece(probs):
        e = xraykit.Evaluator(["plain", "blob"], bootstrap=0)
        for i in range(len(d)):
            e.add(probs[i].tolist(), d.label(i), d.patient(i))
        return e.evaluate().to_dict()["ece"]

    with_tta = m.evaluate(d, bootstrap=0, tta=True).to_dict()
    assert with_tta["ece"] == pytest.approx(ece(tta), abs=1e-6)
    assert m.evaluate(d, bootstrap=0).to_dict()["ece"] == pytest.approx(ece(plain), abs=1e-6)


def test_fit_takes_mixup_and_ema_and_records_them():
    train, val = blobs(64, 5), blobs(32, 6)
    m = xraykit.ResNetClassifier("resnet18", classes=["plain", "blob"], image_size=32, seed=1)
    m.fit(train, val, epochs=1, batch_size=16, augment="none", bootstrap=0, mixup=0.2, ema=0.99, bf16=False)
    assert m.provenance["options"]["mixup"] == pytest.approx(0.2)
    assert m.provenance["options"]["ema"] == pytest.approx(0.99)
    with pytest.raises(xraykit.InvalidArgument, match="mixup"):
        m.fit(train, val, epochs=1, mixup=-1.0)
    with pytest.raises(xraykit.InvalidArgument, match="ema"):
        m.fit(train, val, epochs=1, ema=1.0)


@pytest.mark.parametrize("option, value, refused, message", [
    ("cutmix", 1.0, dict(mixup=0.2, cutmix=1.0), "mixup and cutmix"),
    ("stochastic_depth", 0.2, dict(stochastic_depth=0.9), "stochastic_depth"),
])
def test_fit_takes_a_regulariser_records_it_and_refuses_bad_values(option, value, refused, message):
    train, val = blobs(64, 5), blobs(32, 6)
    m = xraykit.ResNetClassifier("resnet18", classes=["plain", "blob"], image_size=32, seed=1)
    m.fit(train, val, epochs=1, batch_size=16, augment="none", bootstrap=0, bf16=False, **{option: value})
    assert m.provenance["options"][option] == pytest.approx(value)
    with pytest.raises(xraykit.InvalidArgument, match=message):
        m.fit(train, val, epochs=1, **refused)
