"""Writes torchvision reference files for the C++ parity tests.

usage: /usr/bin/python3 torchvision_reference.py OUT_DIR ARCH CLASSES SIZE

OUT_DIR/ARCH.pth       torch.save(model.state_dict()) -- an OrderedDict, as users have them
OUT_DIR/ARCH.input     float32 input, shape [2, 3, SIZE, SIZE]
OUT_DIR/ARCH.output    float32 logits, shape [2, CLASSES], model in eval mode
OUT_DIR/ARCH.grey_in   float32 input, shape [2, 1, SIZE, SIZE]
OUT_DIR/ARCH.grey_out  logits of the same model on the grey input repeated over 3 channels
"""
import os
import sys

import torch
import torchvision


def main():
    out, arch, classes, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # The same thread count as xraykit's default (one per core), so that both sum in the
    # same order.
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=classes)
    # Non-trivial batch-norm statistics, so that loading buffers is tested too.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out, arch + ".pth"))
    x = torch.randn(2, 3, size, size)
    grey = torch.randn(2, 1, size, size)
    with torch.no_grad():
        y = model(x)
        grey_y = model(grey.repeat(1, 3, 1, 1))
    x.numpy().tofile(os.path.join(out, arch + ".input"))
    y.numpy().tofile(os.path.join(out, arch + ".output"))
    grey.numpy().tofile(os.path.join(out, arch + ".grey_in"))
    grey_y.numpy().tofile(os.path.join(out, arch + ".grey_out"))


if __name__ == "__main__":
    main()
