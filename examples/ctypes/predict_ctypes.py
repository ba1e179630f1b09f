"""Driving libxraykit_c from Python with ctypes alone (no compiled glue): create a model,
save and load it, classify an image file, and read the error for a file that is not an image.

usage: /usr/bin/python3 examples/ctypes/predict_ctypes.py LIBXRAYKIT_C IMAGE

Ownership as in xraykit.h: every handle the library gives out is freed with its _free
function (here in `finally`), strings from xrk_last_error() belong to the library and are
copied before the next call. Any thread may call in; the last error is per thread.
"""
import ctypes
import os
import sys
import tempfile

OK = 0


def load(path):
    lib = ctypes.CDLL(path)
    c = ctypes
    lib.xrk_version.restype = c.c_char_p
    lib.xrk_last_error.restype = c.c_char_p
    lib.xrk_status_string.argtypes = [c.c_int]
    lib.xrk_status_string.restype = c.c_char_p
    lib.xrk_classifier_create.argtypes = [c.c_char_p, c.POINTER(c.c_char_p), c.c_size_t, c.c_void_p,
                                          c.POINTER(c.c_void_p)]
    lib.xrk_classifier_save.argtypes = [c.c_void_p, c.c_char_p]
    lib.xrk_classifier_load.argtypes = [c.c_char_p, c.POINTER(c.c_void_p)]
    lib.xrk_classifier_num_classes.argtypes = [c.c_void_p, c.POINTER(c.c_size_t)]
    lib.xrk_classifier_predict_file.argtypes = [c.c_void_p, c.c_char_p, c.POINTER(c.c_float), c.c_size_t,
                                                c.POINTER(c.c_int32)]
    lib.xrk_classifier_free.argtypes = [c.c_void_p]
    lib.xrk_classifier_free.restype = None
    for f in ("xrk_classifier_create", "xrk_classifier_save", "xrk_classifier_load", "xrk_classifier_num_classes",
              "xrk_classifier_predict_file"):
        getattr(lib, f).restype = c.c_int
    return lib


def check(lib, status, what):
    """Raises with the library's own message, naming what failed."""
    if status != OK:
        raise RuntimeError(f"{what}: {lib.xrk_status_string(status).decode()}: {lib.xrk_last_error().decode()}")


def main():
    lib_path, image = sys.argv[1], sys.argv[2]
    lib = load(lib_path)
    print("xraykit", lib.xrk_version().decode(), "through ctypes")
    names = (ctypes.c_char_p * 2)(b"NORMAL", b"PNEUMONIA")
    created, model = ctypes.c_void_p(), ctypes.c_void_p()
    check(lib, lib.xrk_classifier_create(b"resnet18", names, 2, None, ctypes.byref(created)), "create")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.xrk").encode()
            check(lib, lib.xrk_classifier_save(created, path), "save")
            check(lib, lib.xrk_classifier_load(path, ctypes.byref(model)), "load")
    finally:
        lib.xrk_classifier_free(created)
    try:
        k = ctypes.c_size_t()
        check(lib, lib.xrk_classifier_num_classes(model, ctypes.byref(k)), "num_classes")
        probs = (ctypes.c_float * k.value)()
        label = ctypes.c_int32()
        check(lib, lib.xrk_classifier_predict_file(model, image.encode(), probs, k.value, ctypes.byref(label)), "predict")
        print(f"{image}: class {label.value}, probabilities {[round(p, 4) for p in probs]}")
        assert abs(sum(probs) - 1) < 1e-4 and label.value in (0, 1)
        # A file that is not an image: a status, and the reason naming the file.
        with tempfile.NamedTemporaryFile(suffix=".jpeg") as bad:
            bad.write(b"not an image at all")
            bad.flush()
            status = lib.xrk_classifier_predict_file(model, bad.name.encode(), probs, k.value, None)
            message = lib.xrk_last_error().decode()
            print(f"bad file: {lib.xrk_status_string(status).decode()}: {message}")
            assert status != OK and bad.name in message
        # A NULL handle is refused, not dereferenced.
        status = lib.xrk_classifier_num_classes(None, ctypes.byref(k))
        assert status != OK and "NULL" in lib.xrk_last_error().decode()
    finally:
        lib.xrk_classifier_free(model)
    print("ctypes example OK")


if __name__ == "__main__":
    main()
