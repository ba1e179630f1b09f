"""Moving weights between xraykit and torchvision (parameter names are the same)."""
from collections import OrderedDict


def to_torchvision_state_dict(model):
    """The model's weights as an OrderedDict of torch tensors, loadable by a torchvision ResNet
    of the same depth (with a 1-channel conv1 for grey models)."""
    import torch

    return OrderedDict((k, torch.from_numpy(v.copy())) for k, v in model.state_dict().items())


def to_torchvision(model):
    """A torchvision ResNet (eval mode) holding the model's weights."""
    import torch
    import torchvision

    net = getattr(torchvision.models, model.arch)(num_classes=len(model.classes))
    if model.channels != 3:
        net.conv1 = torch.nn.Conv2d(model.channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.load_state_dict(to_torchvision_state_dict(model))
    return net.eval()


def from_torchvision(net_or_state_dict, arch, classes, image_size=224, channels=None):
    """An xraykit ResNetClassifier from a torchvision model or its state_dict."""
    from ._xraykit import ResNetClassifier

    state = net_or_state_dict.state_dict() if hasattr(net_or_state_dict, "state_dict") else net_or_state_dict
    if channels is None:
        channels = int(state["conv1.weight"].shape[1])
    model = ResNetClassifier(arch, classes=list(classes), image_size=image_size, channels=channels)
    model.load_state_dict({k: v.detach().cpu().numpy() for k, v in state.items()})
    return model
