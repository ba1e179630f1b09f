"""Makes a shipped model from a trained one: adds the publisher's notes to its model card,
stores float16 weights (half the file), and checks that the copy predicts as the original.

usage: PYTHONPATH=build/python /usr/bin/python3 scripts/ship_model.py TRAINED.xrk NOTES.md OUT.xrk DATA.csv

DATA.csv: a manifest of images to compare the two on (e.g. the validation split written by
`xraykit dataset chest_xray/train --write-split split`).
"""
import csv
import sys

import numpy as np

import xraykit


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    trained, notes, out, data = sys.argv[1:]
    model = xraykit.ResNetClassifier.load(trained)
    if not model.has_ood_check:
        sys.exit(f"{trained}: no out-of-distribution check; train it with this version of xraykit")
    model.notes = open(notes, encoding="utf-8").read()
    model.save(out, half=True)
    shipped = xraykit.ResNetClassifier.load(out)
    paths = [row["path"] for row in csv.DictReader(open(data, encoding="utf-8"))]
    ra, rb = model.predict(paths), shipped.predict(paths)
    a = np.array([r["probabilities"] for r in ra])
    b = np.array([r["probabilities"] for r in rb])
    flips = sum(x["label"] != y["label"] for x, y in zip(ra, rb))
    print(f"{out}: float16 against float32 on {len(a)} images: mean |dp| {np.abs(a - b).mean():.5f}, "
          f"worst {np.abs(a - b).max():.5f}, labels changed {flips}")
    if flips > len(a) // 200:
        sys.exit("float16 weights changed too many labels")


if __name__ == "__main__":
    main()
