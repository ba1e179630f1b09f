"""Weights move both ways between xraykit and Debian's python3-torchvision."""
import numpy as np
import pytest

import xraykit

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


@pytest.mark.parametrize("channels", [1, 3])
def test_xraykit_to_torchvision_same_outputs(channels):
    torch.set_num_threads(xraykit_threads())
    m = xraykit.ResNetClassifier("resnet18", classes=["a", "b", "c"], image_size=64, channels=channels, seed=5)
    net = xraykit.to_torchvision(m)
    x = np.random.default_rng(0).standard_normal((2, channels, 64, 64)).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    assert np.abs(m.logits(x) - theirs).max() < 1e-4


def test_torchvision_to_xraykit_same_outputs():
    torch.manual_seed(0)
    net = torchvision.models.resnet34(num_classes=2).eval()
    m = xraykit.from_torchvision(net, "resnet34", ["NORMAL", "PNEUMONIA"], image_size=64)
    assert m.channels == 3
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    assert np.abs(m.logits(x) - theirs).max() < 1e-4
    sd = xraykit.to_torchvision_state_dict(m)
    assert list(sd) == list(net.state_dict())


def test_load_torchvision_file(tmp_path):
    net = torchvision.models.resnet18(num_classes=1000)
    path = tmp_path / "imagenet_like.pth"
    torch.save(net.state_dict(), path)
    m = xraykit.ResNetClassifier("resnet18", image_size=64)
    note = m.load_torchvision(str(path))
    assert "conv1 summed" in note and "fc has 1000 outputs" in note


def xraykit_threads():
    import os
    return os.cpu_count()
