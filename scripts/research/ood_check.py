"""How the out-of-distribution check behaves on a model (issue 11, docs/results.md).

usage: PYTHONPATH=build/python /usr/bin/python3 scripts/research/ood_check.py MODEL TRAIN.csv VAL.csv PHOTOS_DIR

False alarms: the validation split is halved by child three times; the limit comes from one half
and alarms are counted on the other (and the reverse). Catch rate: every decodable image in
PHOTOS_DIR and five synthetic ones (black, grey, white, a gradient, noise). Refits the model's
check in memory only; the file is not changed.
"""
import pathlib
import sys

import numpy as np

import xraykit


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    path, train_csv, val_csv, photos = sys.argv[1:]
    model = xraykit.ResNetClassifier.load(path)
    size = model.image_size
    train = xraykit.Dataset.from_csv(train_csv, image_size=size, classes=model.classes)
    val = xraykit.Dataset.from_csv(val_csv, image_size=size, classes=model.classes)
    odd = []
    for p in sorted(pathlib.Path(photos).iterdir()):
        try:
            model.predict(str(p))
            odd.append(str(p))
        except xraykit.Error:
            pass  # e.g. scikit-image's deliberately truncated JPEG
    rng = np.random.default_rng(3)
    synthetic = [np.full((300, 300), v, dtype=np.uint8) for v in (0, 128, 255)]
    synthetic.append(np.tile(np.linspace(0, 255, 300).astype(np.uint8), (300, 1)))
    synthetic.append(rng.integers(0, 256, (300, 300), dtype=np.uint8))
    alarms = counted = caught = shown = 0
    closest = (np.inf, "")
    for seed in (1, 2, 3):
        halves = val.split(0.5, seed=seed)
        for limit_from, scored in (halves, halves[::-1]):
            model.fit_ood(train, limit_from)
            s = model.ood_scores(scored)
            alarms += int((s > 1).sum())
            counted += len(s)
            names = odd + [f"synthetic {i}" for i in range(len(synthetic))]
            for name, r in zip(names, model.predict(odd) + model.predict(synthetic)):
                caught += r["out_of_distribution"]
                shown += 1
                closest = min(closest, (r["ood_score"], name))
    print(f"false alarms on validation X-rays: {alarms}/{counted} ({100 * alarms / counted:.2f}%)")
    print(f"non-X-ray images caught: {caught}/{shown}; closest: {closest[1]} at {closest[0]:.2f}")


if __name__ == "__main__":
    main()
