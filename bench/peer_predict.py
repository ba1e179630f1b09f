"""PyTorch-Python peer of `xraykit predict MODEL DIR`: classify every image file in a folder.

usage: /usr/bin/python3 bench/peer_predict.py textbook|savvy DIR [--size 128]
textbook: fp32, NCHW. savvy: bf16 autocast and channels-last. Both decode with PIL in one
DataLoader worker while the network runs, batch 32, a ResNet-18 with one grey channel
(random weights: the work, not the answer, is measured). Prints one JSON line; the wall time
is measured from interpreter start by the caller.
"""
import argparse
import json
import os
import time

import torch
import torchvision
from PIL import Image


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, size):
        self.paths, self.size = paths, size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("L").resize((self.size, self.size), Image.BILINEAR)
        x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(1, self.size, self.size)
        return (x.float() / 255.0 - 0.449) / 0.226


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["textbook", "savvy"])
    ap.add_argument("folder")
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.folder) for f in fs
                   if f.lower().endswith((".jpg", ".jpeg", ".png")))
    net = torchvision.models.resnet18(num_classes=2)
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    net.eval()
    savvy = a.mode == "savvy"
    if savvy:
        net = net.to(memory_format=torch.channels_last)
    loader = torch.utils.data.DataLoader(Files(paths, a.size), batch_size=32, num_workers=1)
    t0 = time.perf_counter()
    n = 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=savvy):
        for x in loader:
            if savvy:
                x = x.contiguous(memory_format=torch.channels_last)
            p = torch.softmax(net(x).float(), 1)
            n += len(p)
    print(json.dumps({"peer": a.mode, "images": n, "loop_seconds": round(time.perf_counter() - t0, 3)}))


if __name__ == "__main__":
    main()
