"""The Python module on the real chest X-rays."""
import xraykit


def test_real_counts_and_patient_disjoint_split(real_data):
    d = xraykit.Dataset.from_folder(str(real_data), image_size=32)
    assert d.classes == ["NORMAL", "PNEUMONIA"]
    assert d.class_counts() == [1341, 3875]
    train, val = d.split(0.15, seed=1)
    train_patients = {train.patient(i) for i in range(len(train))}
    assert not any(val.patient(i) in train_patients for i in range(len(val)))
