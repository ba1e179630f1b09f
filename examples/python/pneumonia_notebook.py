"""A notebook-style tour of xraykit from Python: load a folder, train, evaluate, look at the
confusion matrix, save, reload, predict a few files.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/pneumonia_notebook.py [--quick]
"""
import os
import pathlib
import sys
import tempfile

import xraykit

quick = "--quick" in sys.argv
data_dir = os.environ.get("XRAYKIT_DATA") or str(pathlib.Path(__file__).resolve().parents[3] / "shared/data/chest_xray/train")

# %% Load the two class folders (NORMAL/, PNEUMONIA/); patients come from the file names.
data = xraykit.Dataset.from_folder(data_dir, image_size=64 if quick else 128)
print(data.detailed_summary())

# %% A patient-disjoint split: no child on both sides.
train, val = data.split(0.15, seed=42)

# %% Train a ResNet-18; the callback sees every step and epoch (returning False would stop).
def show(p):
    if p["epoch_end"]:
        print(f"epoch {p['epoch']}: val AUC {p['record']['val_auc']:.3f}, {p['images_per_second']:.0f} images/s")


model = xraykit.ResNetClassifier("resnet18", classes=data.classes, image_size=data.image_size)
result = model.fit(train, val, epochs=1 if quick else 5, augment="light", bootstrap=200,
                   max_steps_per_epoch=40 if quick else 0, callback=show)

# %% Honest metrics: every figure names its split; intervals resample patients.
validation = result["validation"]
print(validation.to_text())
print("confusion matrix [true, predicted]:\n", validation.confusion_matrix)

# %% Save, reload, predict a few files.
out = pathlib.Path(tempfile.mkdtemp())
model.save(str(out / "pneumonia.xrk"))
validation.save_html(str(out / "report.html"), result["history"])
reloaded = xraykit.ResNetClassifier.load(str(out / "pneumonia.xrk"))
for i in range(0, len(val), max(1, len(val) // 4)):
    p = reloaded.predict(val.path(i))
    print(f"{pathlib.Path(val.path(i)).name:<32} truth {val.classes[val.label(i)]:<10} -> {p['class_name']:<10} "
          f"P(PNEUMONIA) = {p['probabilities'][1]:.3f}")
print("python example OK:", out)
