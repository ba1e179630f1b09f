"""The textbook torchvision training loop, on xraykit's patient-disjoint split, saved as an
xraykit model so that `xraykit evaluate --shifts` judges it exactly as it judges xraykit's own.

The recipe is the one issue 11 measured at 95.2% on new children: ResNet-18 from scratch,
RandomRotation(10), RandomResizedCrop(scale 0.8-1.0, ratio 3/4-4/3), ColorJitter(brightness
0.2, contrast 0.2), Adam 1e-3 with a per-epoch cosine schedule, class-weighted loss, the last
epoch kept, threshold 0.5. Differences from that script, on purpose: one grey channel with
xraykit's normalisation (so the weights load into xraykit unchanged), pixels decoded and
resized by xraykit (so only training differs).

usage: PYTHONPATH=build/python /usr/bin/python3 scripts/research/textbook_peer.py \
         SPLIT_DIR OUT.xrk [--size 128] [--epochs 10] [--bf16] [--seed 42]
SPLIT_DIR holds train.csv and val.csv from `xraykit dataset DATA --write-split SPLIT_DIR`.
--val-every-epoch also prints the validation accuracy (threshold 0.5) after each epoch, with
the training time so far (validation time not counted), for "time to 95%" (issue 10).
"""
import argparse
import os
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image

import xraykit


class Images(torch.utils.data.Dataset):
    """xraykit's decoded grey images as PIL images, through torchvision's PIL transforms."""

    def __init__(self, data, transform):
        self.images = [Image.fromarray(np.ascontiguousarray(data.image(i)), mode="L") for i in range(len(data))]
        self.labels = [data.label(i) for i in range(len(data))]
        self.transform = T.Compose([transform, T.ToTensor(), T.Normalize([0.449], [0.226])])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def accuracy(net, data, bf16):
    """Accuracy at threshold 0.5 on P(class 1), the network left in train mode afterwards."""
    net.eval()
    images = Images(data, T.Lambda(lambda image: image))  # no augmentation; the same tensors and normalisation
    x = torch.stack([images[i][0] for i in range(len(images))])
    y = np.array(images.labels)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        p = torch.cat([torch.softmax(net(x[i:i + 64]).float(), 1)[:, 1] for i in range(0, len(x), 64)]).numpy()
    net.train()
    return float(((p >= 0.5) == (y == 1)).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("split_dir")
    ap.add_argument("output")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--val-every-epoch", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count())

    train = xraykit.Dataset.from_csv(os.path.join(args.split_dir, "train.csv"), image_size=args.size)
    val = xraykit.Dataset.from_csv(os.path.join(args.split_dir, "val.csv"), image_size=args.size) \
        if args.val_every_epoch else None
    augment = T.Compose([
        T.RandomRotation(10),
        T.RandomResizedCrop(args.size, scale=(0.8, 1.0), ratio=(3 / 4, 4 / 3)),
        T.ColorJitter(brightness=0.2, contrast=0.2),
    ])
    loader = torch.utils.data.DataLoader(Images(train, augment), batch_size=32, shuffle=True, num_workers=1,
                                         drop_last=False, persistent_workers=True)
    net = torchvision.models.resnet18(num_classes=2)
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    counts = np.bincount([train.label(i) for i in range(len(train))], minlength=2)
    weights = torch.tensor(len(train) / (2.0 * counts), dtype=torch.float32)
    if args.bf16:
        # bf16 in NCHW takes LibTorch 1.13's slow path in Python (18 images/s here); channels-last
        # is what a PyTorch user would do, and changes no result.
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        net.train()
        total, n = 0.0, 0
        for x, y in loader:
            if args.bf16:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = net(x)
            loss = torch.nn.functional.cross_entropy(logits.float(), y, weight=weights)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            n += len(y)
        sched.step()
        line = f"epoch {epoch}/{args.epochs} loss {total / n:.4f} {time.perf_counter() - t0:.0f}s"
        if args.val_every_epoch:
            paused = time.perf_counter()
            line += f" val acc {100 * accuracy(net, val, args.bf16):.1f}%"
            t0 += time.perf_counter() - paused
        print(line, flush=True)

    net.eval()
    model = xraykit.from_torchvision(net, "resnet18", train.classes, image_size=args.size, channels=1)
    model.threshold = 0.5
    model.save(args.output)
    print(f"saved {args.output} after {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
