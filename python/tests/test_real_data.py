"""The Python module on the real chest X-rays."""
import xraykit


def test_real_counts_and_patient_disjoint_split(real_data):
    d = xraykit.Dataset.from_folder(str(real_data), image_size=32)
    assert d.classes == ["NORMAL", "PNEUMONIA"]
    assert d.class_counts() == [1341, 3875]
    train, val = d.split(0.15, seed=1)
    train_patients = {train.patient(i) for i in range(len(train))}
    assert not any(val.patient(i) in train_patients for i in range(len(val)))


def test_the_shipped_model_loads_without_a_path_and_refuses_a_blank_image(real_data):
    import numpy as np
    m = xraykit.ResNetClassifier.load()
    assert xraykit.shipped_model_path().endswith("pneumonia.xrk")
    assert m.classes == ["NORMAL", "PNEUMONIA"] and m.has_ood_check
    assert "Kermany" in m.notes and "Kermany" in m.describe()
    xray = m.predict(str(next((real_data / "PNEUMONIA").iterdir())))
    assert not xray["out_of_distribution"] and xray["ood_score"] < 1
    blank = m.predict(np.zeros((200, 200), dtype=np.uint8))
    assert blank["out_of_distribution"] and blank["ood_score"] > 1


def test_three_classes_from_the_file_names(real_data):
    d = xraykit.Dataset.from_folder(str(real_data), image_size=32, pneumonia_kinds=True)
    assert d.classes == ["NORMAL", "BACTERIAL", "VIRAL"]
    counts = d.class_counts()
    assert counts[0] == 1341 and counts[1] + counts[2] == 3875 - len(d.skipped)
    assert counts[1] > counts[2] > 1000
