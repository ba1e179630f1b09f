"""Hostile model files (issue 12, items 7 and 11): a .pth or an xraykit model whose pickle nests
objects deeply, or whose tensors are zero-stride views of a tiny storage, is refused with
ModelError; nothing crashes and nothing allocates gigabytes."""
import io
import pickle
import struct
import zipfile
import zlib

import pytest
import torch

import xraykit


def archive_with(data_pkl: bytes, storages=None) -> bytes:
    """A PyTorch zip archive (as torch.save writes it) whose data.pkl is replaced."""
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(1)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    prefix = src.namelist()[0].split("/")[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in src.namelist():
            if name.endswith("/data.pkl"):
                z.writestr(name, data_pkl)
            elif "/data/" not in name:
                z.writestr(name, src.read(name))
        for key, raw in (storages or {}).items():
            z.writestr(f"{prefix}/data/{key}", raw)
    return out.getvalue()


def nested_tuples(depth: int) -> bytes:
    # PROTO 2, then MARK/EMPTY_TUPLE chains: ((((...),),),) as TUPLE1 opcodes, then STOP.
    return b"\x80\x02" + b")" + b"\x85" * depth + b"."


class Persistent(pickle.Pickler):
    def persistent_id(self, obj):
        return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None


class Rebuild:
    def __init__(self, size, stride):
        self.size, self.stride = size, stride

    def __reduce__(self):
        storage = ("storage", FloatStorage(), "0", "cpu", 1)
        return (torch._utils._rebuild_tensor_v2, (storage, 0, self.size, self.stride, False, {}))


class FloatStorage:
    def __reduce__(self):
        return (torch.FloatStorage, ())


def zero_stride_pickle() -> bytes:
    buf = io.BytesIO()
    p = Persistent(buf, protocol=2)
    p.dump({"fc.weight": Rebuild((100_000, 100_000), (0, 0))})
    return buf.getvalue()


def model_with_weights(tmp_path, weights: bytes):
    return model_with_section(tmp_path, b"weights", lambda _: weights)


def model_with_section(tmp_path, section: bytes, change):
    """A valid .xrk with one section changed by `change(old) -> new` (checksum recomputed)."""
    path = tmp_path / "good.xrk"
    xraykit.ResNetClassifier("resnet18", ["a", "b"], image_size=32).save(str(path))
    b = path.read_bytes()
    pos = 8
    version, = struct.unpack_from("<I", b, pos)
    pos += 4
    n, = struct.unpack_from("<I", b, pos)
    kind = b[pos + 4:pos + 4 + n]
    pos += 4 + n
    count, = struct.unpack_from("<I", b, pos)
    pos += 4
    sections = []
    for _ in range(count):
        n, = struct.unpack_from("<I", b, pos)
        name = b[pos + 4:pos + 4 + n]
        pos += 4 + n
        m, = struct.unpack_from("<Q", b, pos)
        data = b[pos + 8:pos + 8 + m]
        pos += 8 + m
        sections.append((name, change(data) if name == section else data))
    out = b[:8] + struct.pack("<I", version) + struct.pack("<I", len(kind)) + kind + struct.pack("<I", len(sections))
    for name, data in sections:
        out += struct.pack("<I", len(name)) + name + struct.pack("<Q", len(data)) + data
    out += struct.pack("<Q", zlib.crc32(out))
    bad = tmp_path / "bad.xrk"
    bad.write_bytes(out)
    return bad


def test_deeply_nested_pth_is_refused(tmp_path):
    path = tmp_path / "deep.pth"
    path.write_bytes(archive_with(nested_tuples(300_000)))
    m = xraykit.ResNetClassifier("resnet18", ["a", "b"], image_size=32)
    with pytest.raises(xraykit.ModelError, match="nested deeper"):
        m.load_torchvision(str(path))


def test_zero_stride_pth_is_refused(tmp_path):
    path = tmp_path / "views.pth"
    path.write_bytes(archive_with(zero_stride_pickle(), {"0": b"\0\0\0\0"}))
    m = xraykit.ResNetClassifier("resnet18", ["a", "b"], image_size=32)
    with pytest.raises(xraykit.ModelError, match="larger than its storage"):
        m.load_torchvision(str(path))


def test_model_file_with_nested_weights_is_refused(tmp_path):
    bad = model_with_weights(tmp_path, archive_with(nested_tuples(300_000)))
    with pytest.raises(xraykit.ModelError, match="nested deeper"):
        xraykit.ResNetClassifier.load(str(bad))


def test_model_file_weights_round_trip_through_the_bounded_reader(tmp_path):
    m = xraykit.ResNetClassifier("resnet18", ["a", "b"], image_size=32)
    m.save(str(tmp_path / "m.xrk"))
    back = xraykit.ResNetClassifier.load(str(tmp_path / "m.xrk"))
    for (k1, v1), (k2, v2) in zip(m.state_dict().items(), back.state_dict().items()):
        assert k1 == k2
        assert (v1 == v2).all()


@pytest.mark.parametrize("field,value,message", [
    ("threshold", 7.5, "threshold must be in"),
    ("normalization", {"mean": [0.5], "std": [0.0]}, "std must be positive"),
    ("normalization", {"mean": [0.5, 0.5], "std": [0.2, 0.2]}, "1 or 1 values"),
])
def test_model_file_with_impossible_settings_is_refused(tmp_path, field, value, message):
    import json

    def change(meta):
        j = json.loads(meta)
        j[field] = value
        return json.dumps(j).encode()

    bad = model_with_section(tmp_path, b"meta.json", change)
    with pytest.raises(xraykit.ModelError, match=message):
        xraykit.ResNetClassifier.load(str(bad))
