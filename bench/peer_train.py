"""PyTorch-Python peer of `xraykit train`: one epoch of ResNet-18 on a folder's images.

usage: /usr/bin/python3 bench/peer_train.py textbook|savvy SPLIT_DIR [--size 128] [--epochs 1]
SPLIT_DIR holds train.csv from `xraykit dataset DATA --write-split SPLIT_DIR` (the same
patient-disjoint training side xraykit trains on). textbook: fp32; savvy: bf16 autocast and
channels-last. Both: PIL decoding and light augmentation in one DataLoader worker, Adam,
class-weighted loss, batch 32. Prints one JSON line with the training loop's images/s.
"""
import argparse
import csv
import json
import os
import time

import torch
import torchvision
import torchvision.transforms as T
from PIL import Image


class Files(torch.utils.data.Dataset):
    def __init__(self, rows, classes, size):
        self.rows, self.classes = rows, classes
        self.t = T.Compose([T.Resize((size, size)), T.RandomAffine(5, translate=(0.03, 0.03), scale=(0.95, 1.05)),
                            T.ToTensor(), T.Normalize([0.449], [0.226])])

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, label = self.rows[i][0], self.rows[i][1]
        return self.t(Image.open(path).convert("L")), self.classes.index(label)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["textbook", "savvy"])
    ap.add_argument("split_dir")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    rows = list(csv.reader(open(os.path.join(a.split_dir, "train.csv"))))[1:]
    classes = sorted({r[1] for r in rows})
    counts = torch.tensor([sum(r[1] == c for r in rows) for c in classes], dtype=torch.float32)
    weights = len(rows) / (len(classes) * counts)
    net = torchvision.models.resnet18(num_classes=len(classes))
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    savvy = a.mode == "savvy"
    if savvy:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(Files(rows, classes, a.size), batch_size=32, shuffle=True, num_workers=1)
    net.train()
    t0 = time.perf_counter()
    n = 0
    for _ in range(a.epochs):
        for x, y in loader:
            if savvy:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=savvy):
                out = net(x)
            loss = torch.nn.functional.cross_entropy(out.float(), y, weight=weights)
            loss.backward()
            opt.step()
            n += len(y)
    secs = time.perf_counter() - t0
    print(json.dumps({"peer": a.mode, "images": n, "loop_seconds": round(secs, 1),
                      "images_per_second": round(n / secs, 1)}))


if __name__ == "__main__":
    main()
