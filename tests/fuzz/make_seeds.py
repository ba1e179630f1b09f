"""Seed inputs for the fuzz targets (scripts/fuzz.sh): small valid examples of each format, so
that fuzzing starts from inputs that get past the first checks. Writes only seeds that are
missing: python3 make_seeds.py CORPUS_DIR (one folder per target)."""
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

from PIL import Image

PASSWORD = "fuzzing-password-123"  # tests/fuzz/fuzz_http.cpp


def image_bytes(fmt, mode="L", size=(20, 16)):
    img = Image.new(mode, size)
    def value(x, y):
        grey = (x * 13 + y * 7) % 256
        return {"L": grey, "I;16": grey * 257}.get(mode, (grey, (y * 7) % 256, 99))
    img.putdata([value(x, y) for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def dicom_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        jpg, dcm = os.path.join(tmp, "a.jpg"), os.path.join(tmp, "a.dcm")
        with open(jpg, "wb") as f:
            f.write(image_bytes("JPEG", size=(24, 24)))
        if subprocess.run(["img2dcm", jpg, dcm], capture_output=True).returncode != 0:
            return None
        with open(dcm, "rb") as f:
            return f.read()


def state_dict_bytes():
    import torch
    out = io.BytesIO()
    torch.save({"conv1.weight": torch.arange(12, dtype=torch.float32).reshape(1, 3, 2, 2),
                "fc.bias": torch.zeros(2, dtype=torch.float16),
                "bn1.num_batches_tracked": torch.tensor(3)}, out)
    return out.getvalue()


def container_without_checksum(kind, sections):
    def text(s):
        return struct.pack("<I", len(s)) + s
    body = b"XRAYKIT\0" + struct.pack("<I", 2) + text(kind) + struct.pack("<I", len(sections))
    for name, data in sections:
        body += text(name) + struct.pack("<Q", len(data)) + data
    return body


def http_requests(png):
    boundary = "fuzzboundary"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n"
              f"Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    login = f"password={PASSWORD}".encode()
    auth = f"Authorization: Bearer {PASSWORD}\r\n"
    return {
        "healthz": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "login": (f"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {len(login)}\r\n\r\n").encode() + login,
        "predict": (f"POST /api/predict?heatmap=1 HTTP/1.1\r\nHost: x\r\n{auth}"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(upload)}\r\n\r\n").encode() + upload,
        "predict_raw": (f"POST /api/predict?name=a.png HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: image/png\r\n"
                        f"Content-Length: {len(png)}\r\n\r\n").encode() + png,
        "model": f"GET /api/model HTTP/1.1\r\nHost: x\r\n{auth}\r\nGET /model HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode(),
        "pages": b"GET / HTTP/1.1\r\nCookie: xrk_session=abc\r\n\r\nGET /app.js HTTP/1.1\r\n\r\nGET /logout HTTP/1.1\r\n\r\n",
    }


def zip_bytes():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/NORMAL/a.png", b"\x89PNG" + bytes(range(200)))
        z.writestr("data/PNEUMONIA/b.jpeg", b"\xff\xd8" + b"x" * 300)
        z.writestr("list.csv", b"data/NORMAL/a.png,NORMAL\n")
        z.writestr("../up.png", b"up")
    return out.getvalue()


def main(corpus):
    png = image_bytes("PNG")
    dicom = dicom_bytes()
    weights = state_dict_bytes()
    seeds = {
        "fuzz_image": {"png": b"\x00" + png, "png_rgb": b"\x01" + image_bytes("PNG", "RGB"),
                       "jpeg": b"\x02" + image_bytes("JPEG", size=(64, 48)), "bmp": b"\x00" + image_bytes("BMP"),
                       "png16": b"\x08" + image_bytes("PNG", "I;16")},
        "fuzz_text_inputs": {"manifest": b"\x01path,label\na/one.png,NORMAL\ntwo.png,PNEUMONIA,p1\n\"a/one.png\",X\n",
                             "spec": b"\x00robust,rotate=10,scale=0.9:1.1,translate=0.05,brightness=0.2,blur=1",
                             "preset": b"\x00strong"},
        "fuzz_model_file": {"pth": b"\x02" + weights,
                            "xrk": b"\x01" + container_without_checksum(b"model", [(b"meta.json", b"{}"), (b"weights", weights)])},
        "fuzz_http": http_requests(png),
        "fuzz_zip": {"zip": zip_bytes()},
        "fuzz_web_codec": {"form": b"password=a%20b%zz&x=1", "cookie": b"xrk_session=abc; other=1", "basic": b"YW55OnBhc3N3b3Jk"},
        "fuzz_dicom_structure": {"preamble": bytes(128) + b"DICM"},
    }
    if dicom:
        seeds["fuzz_image"]["dicom"] = b"\x00" + dicom
        seeds["fuzz_dicom_structure"]["img2dcm"] = dicom
    for target, files in seeds.items():
        folder = os.path.join(corpus, target)
        if not os.path.isdir(folder):
            continue  # not built this time
        for name, data in files.items():
            path = os.path.join(folder, "seed-" + name)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
