"""xraykit: train, evaluate and deploy chest X-ray classifiers on the CPU.

    import xraykit
    data = xraykit.Dataset.from_folder("chest_xray/train", image_size=128)
    train, val = data.split(0.15, seed=42)          # patient-disjoint
    model = xraykit.ResNetClassifier("resnet18", classes=data.classes, image_size=128)
    result = model.fit(train, val, epochs=5, callback=print)
    print(result["validation"].to_text())
    model.save("pneumonia.xrk")
    model.predict("scan.jpeg")                       # {'label': 1, 'class_name': 'PNEUMONIA', ...}
    xraykit.ResNetClassifier.load().predict("scan.jpeg")   # the pneumonia model shipped with xraykit

Every figure names the split it was measured on; intervals resample patients.
"""
from ._xraykit import (  # noqa: F401
    Augmenter,
    Dataset,
    DatasetError,
    Error,
    Evaluation,
    Evaluator,
    ImageError,
    InvalidArgument,
    IoError,
    ModelError,
    ResNetClassifier,
    __version__,
    patient_from_filename,
    set_num_threads,
    shipped_model_path,
)
from .torchvision_interop import from_torchvision, to_torchvision, to_torchvision_state_dict  # noqa: F401

__all__ = [
    "Augmenter", "Dataset", "DatasetError", "Error", "Evaluation", "Evaluator", "ImageError", "InvalidArgument",
    "IoError", "ModelError", "ResNetClassifier", "from_torchvision", "patient_from_filename", "set_num_threads",
    "to_torchvision", "to_torchvision_state_dict",
]
