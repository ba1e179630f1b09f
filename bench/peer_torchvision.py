"""The PyTorch-Python peer of bench_model: the same ResNet-18 work in torchvision.

usage: /usr/bin/python3 bench/peer_torchvision.py   (prints images/s as JSON lines)
"""
import json
import os
import time

import torch
import torchvision


def grey_resnet18():
    m = torchvision.models.resnet18(num_classes=2)
    m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    return m


def inference(size, seconds=3.0, batch=32):
    m = grey_resnet18().eval()
    x = torch.full((batch, 1, size, size), 0.1)
    with torch.no_grad():
        m(x)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            m(x)
            n += batch
    return n / (time.perf_counter() - t0)


def train_epoch(size, bf16, images=512, batch=32):
    m = grey_resnet18().train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.randn(batch, 1, size, size)
    y = torch.randint(0, 2, (batch,))
    t0 = time.perf_counter()
    for _ in range(images // batch):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(m(x).float(), y)
        loss.backward()
        opt.step()
    return images / (time.perf_counter() - t0)


if __name__ == "__main__":
    # Torch starts with one thread here; use every core, as xraykit does.
    torch.set_num_threads(os.cpu_count())
    print(json.dumps({"peer": "torchvision", "threads": torch.get_num_threads()}))
    for size in (128, 224):
        print(json.dumps({"bench": f"inference/{size}", "images_per_second": round(inference(size), 1)}))
    for bf16 in (False, True):
        print(json.dumps({"bench": f"train_epoch/128/{'bf16' if bf16 else 'fp32'}",
                          "images_per_second": round(train_epoch(128, bf16), 1)}))
