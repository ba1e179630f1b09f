#!/usr/bin/env python3
"""Screen training levers for the three-class task (NORMAL / BACTERIAL / VIRAL) on a GPU.

A PyTorch *proxy* of xraykit's default recipe (ResNet-18, one grey channel, AdamW 1e-3, weight
decay 1e-4, one warm-up epoch then cosine, batch 32, class-weighted loss, the "robust"
augmentation), run as patient-disjoint K-fold cross-validation with several folds/configs in
parallel processes. It ranks levers cheaply; a lever it favours is then confirmed with
`xraykit train`. Its figures are the proxy's, not the product's (docs/results.md keeps them apart).

usage: gpu_lever_screen.py TAR OUTDIR [--configs base,res224] [--folds 5] [--procs 6] [--smoke]
  TAR: a tar of NORMAL/*.jpeg and PNEUMONIA/*.jpeg (Kermany file names carry patient and kind).
Writes OUTDIR/results.jsonl (one line per config and fold, as each finishes) and prints a summary.
"""
import argparse
import copy
import io
import json
import math
import os
import re
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

DEFAULT = dict(size=128, epochs=10, arch="resnet18", lr=1e-3, wd=1e-4, warmup=1.0, batch=32,
               smoothing=0.0, aug="robust", blur=0.0, balance=True, ema=0.0, mixup=0.0)
CONFIGS = {
    "base": {},
    "res224": dict(size=224),
    "res160": dict(size=160),
    "ep20": dict(epochs=20),
    "res224ep20": dict(size=224, epochs=20),
    "smooth": dict(smoothing=0.1),
    "light": dict(aug="light"),
    "blur2": dict(blur=2.0),
    "noweights": dict(balance=False),
    "resnet34": dict(arch="resnet34"),
    "ema": dict(ema=0.998),
    "mixup": dict(mixup=0.2),
    "light_ep20": dict(aug="light", epochs=20),
    "light_ep30": dict(aug="light", epochs=30),
    "light_ep20_res160": dict(aug="light", epochs=20, size=160),
    "light_ep20_noweights": dict(aug="light", epochs=20, balance=False),
}
# xraykit's presets (src/data/augment.cpp), as ranges this proxy samples from.
AUGMENT = {
    "robust": dict(rotate=10, scale=(0.9, 1.15), aspect=(0.85, 1.18), translate=0.08, brightness=0.0,
                   contrast=0.3, gamma=(0.7, 1.4), noise=0.02),
    "light": dict(rotate=5, scale=(0.95, 1.05), aspect=(1.0, 1.0), translate=0.03, brightness=0.05,
                  contrast=0.05, gamma=(1.0, 1.0), noise=0.0),
}
CLASSES = ["NORMAL", "BACTERIAL", "VIRAL"]


def patient_and_label(name):
    """Kermany names: personN_bacteria_M / personN_virus_M, IM-XXXX-YYYY, NORMAL2-IM-XXXX-YYYY."""
    folder, base = name.split("/")[-2:]
    if folder == "NORMAL":
        m = re.match(r"((?:NORMAL2-)?IM-\d+)", base)
        return (m.group(1) if m else base), 0
    m = re.match(r"(person\d+)_(bacteria|virus)", base)
    if not m:
        return None, None
    return m.group(1), (1 if m.group(2) == "bacteria" else 2)


def load_tar(path, cache):
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        return z["images"], z["labels"], z["patients"]
    from PIL import Image
    images, labels, patients = [], [], []
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if not m.isfile():
                continue
            patient, label = patient_and_label(m.name)
            if patient is None:
                continue
            im = Image.open(io.BytesIO(t.extractfile(m).read())).convert("L").resize((224, 224))
            images.append(np.asarray(im, dtype=np.uint8))
            labels.append(label)
            patients.append(patient)
    images, labels, patients = np.stack(images), np.array(labels), np.array(patients)
    np.savez(cache, images=images, labels=labels, patients=patients)
    return images, labels, patients


def folds_of(patients, k, seed=0):
    unique = np.array(sorted(set(patients.tolist())))
    np.random.default_rng(seed).shuffle(unique)
    fold_of_patient = {p: i % k for i, p in enumerate(unique)}
    return np.array([fold_of_patient[p] for p in patients])


def auc(scores, positive):
    """Mann-Whitney AUC with ties counted half."""
    scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
    n1, n0 = positive.sum(), (~positive).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def metrics(prob, y):
    pred = prob.argmax(1)
    out = dict(acc=float((pred == y).mean()),
               macro_auc=float(np.mean([auc(prob[:, c], y == c) for c in range(3)])),
               pneumonia_auc=auc(1 - prob[:, 0], y != 0))
    pn = y != 0
    bv_pred = np.where(prob[pn, 1] >= prob[pn, 2], 1, 2)
    out["bv_acc"] = float((bv_pred == y[pn]).mean())
    out["bv_auc"] = auc(prob[pn, 2] / (prob[pn, 1] + prob[pn, 2] + 1e-12), y[pn] == 2)
    out["per_class_recall"] = [float((pred[y == c] == c).mean()) for c in range(3)]
    return out


def gaussian_blur(x, sigma, radius):
    """Per-image Gaussian blur (sigma 0 = unchanged) as one grouped separable convolution."""
    n = x.shape[0]
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    s = sigma.clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (t[None, :] / s) ** 2)
    k = torch.where(sigma[:, None] > 1e-3, k, (t[None, :] == 0).to(x.dtype))
    k = k / k.sum(1, keepdim=True)
    y = x.reshape(1, n, *x.shape[2:])
    y = F.pad(y, (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k[:, None, :, None], groups=n)
    y = F.conv2d(y, k[:, None, None, :], groups=n)
    return y.reshape_as(x)


def augment(x, a, blur, gen):
    """x: [N,1,H,W] in [0,1] on the GPU; random affine (zero fill), then intensity changes."""
    n, dev = x.shape[0], x.device
    u = lambda lo, hi: torch.empty(n, device=dev).uniform_(lo, hi, generator=gen)
    angle = u(-a["rotate"], a["rotate"]) * math.pi / 180
    scale = u(*a["scale"])
    aspect = torch.exp(u(math.log(a["aspect"][0]), math.log(a["aspect"][1])))
    sx, sy = 1 / (scale * aspect.sqrt()), aspect.sqrt() / scale
    tx, ty = u(-a["translate"], a["translate"]) * 2, u(-a["translate"], a["translate"]) * 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos * sx, -sin * sy, tx], 1), torch.stack([sin * sx, cos * sy, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if blur > 0:
        sigma = u(0, blur) * (torch.rand(n, device=dev, generator=gen) < 0.5)
        x = gaussian_blur(x, sigma, int(math.ceil(3 * blur)))
    x = x + u(-a["brightness"], a["brightness"])[:, None, None, None] if a["brightness"] else x
    if a["contrast"]:
        mean = x.mean((1, 2, 3), keepdim=True)
        x = (x - mean) * u(1 - a["contrast"], 1 + a["contrast"])[:, None, None, None] + mean
    x = x.clamp(0, 1)
    if a["gamma"] != (1.0, 1.0):
        g = torch.exp(u(math.log(a["gamma"][0]), math.log(a["gamma"][1])))
        x = x.clamp_min(1e-6) ** g[:, None, None, None]
    if a["noise"]:
        x = x + torch.randn(x.shape, device=dev, generator=gen) * u(0, a["noise"])[:, None, None, None]
    return x


def make_model(arch):
    net = getattr(torchvision.models, arch)(num_classes=3)
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    return net


def run_job(name, fold, k, images, labels, folds, device, smoke):
    cfg = dict(DEFAULT, **CONFIGS[name])
    if smoke:
        cfg.update(epochs=1, size=32)
    torch.manual_seed(1000 * fold + 7)
    gen = torch.Generator(device=device)
    gen.manual_seed(1000 * fold + 11)
    x_all = torch.from_numpy(images).to(device)[:, None].float() / 255
    x_all = F.interpolate(x_all, size=(cfg["size"], cfg["size"]), mode="area")
    y_all = torch.from_numpy(labels).to(device)
    tr = torch.from_numpy(np.nonzero(folds != fold)[0]).to(device)
    va = torch.from_numpy(np.nonzero(folds == fold)[0]).to(device)
    if smoke:
        tr, va = tr[torch.randperm(len(tr))[:96].to(device)], va[torch.randperm(len(va))[:64].to(device)]
    mean, std = x_all[tr].mean().item(), x_all[tr].std().item()
    counts = torch.bincount(y_all[tr], minlength=3).float()
    weight = (counts.sum() / (3 * counts)) if cfg["balance"] else None
    net = make_model(cfg["arch"]).to(device).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(net) if cfg["ema"] else None
    decay, no_decay = [], []
    for p in net.parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=cfg["wd"]), dict(params=no_decay, weight_decay=0)],
                            lr=cfg["lr"])
    steps_per_epoch = len(tr) // cfg["batch"]
    total, warm = steps_per_epoch * cfg["epochs"], int(steps_per_epoch * cfg["warmup"])
    amp = device.type == "cuda"
    step, t0 = 0, time.time()
    for epoch in range(cfg["epochs"]):
        net.train()
        order = tr[torch.randperm(len(tr), device=device, generator=gen)]
        for b in range(steps_per_epoch):
            idx = order[b * cfg["batch"]:(b + 1) * cfg["batch"]]
            lr = cfg["lr"] * ((step + 1) / warm if step < warm else
                              0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))
            for g in opt.param_groups:
                g["lr"] = lr
            x = (augment(x_all[idx], AUGMENT[cfg["aug"]], cfg["blur"], gen) - mean) / std
            y = y_all[idx]
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                if cfg["mixup"]:
                    lam = float(np.random.default_rng(step).beta(cfg["mixup"], cfg["mixup"]))
                    perm = torch.randperm(len(idx), device=device, generator=gen)
                    logits = net(lam * x + (1 - lam) * x[perm]).float()
                    loss = lam * F.cross_entropy(logits, y, weight=weight, label_smoothing=cfg["smoothing"]) + \
                        (1 - lam) * F.cross_entropy(logits, y[perm], weight=weight, label_smoothing=cfg["smoothing"])
                else:
                    logits = net(x).float()
                    loss = F.cross_entropy(logits, y, weight=weight, label_smoothing=cfg["smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, p in zip(ema.state_dict().values(), net.state_dict().values()):
                        if pe.dtype.is_floating_point:
                            pe.mul_(cfg["ema"]).add_(p, alpha=1 - cfg["ema"])
                        else:
                            pe.copy_(p)
            step += 1
    model = ema if ema is not None else net
    model.eval()
    probs = []
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        for b in range(0, len(va), 256):
            x = ((x_all[va[b:b + 256]] - mean) / std).contiguous(memory_format=torch.channels_last)
            probs.append(torch.softmax(model(x).float(), 1).cpu())
    prob = torch.cat(probs).numpy()
    out = metrics(prob, labels[va.cpu().numpy()])
    out.update(config=name, fold=fold + 1, k=k, seconds=round(time.time() - t0, 1), n_val=int(len(va)),
               final_loss=float(loss))
    return out


def worker(rank, jobs, args, queue_path, lock):
    torch.set_num_threads(2)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images, labels, patients = load_tar(args.tar, args.cache)
    folds = folds_of(patients, args.folds)
    for i, (name, fold) in enumerate(jobs):
        if i % args.procs != rank:
            continue
        try:
            res = run_job(name, fold, args.folds, images, labels, folds, device, args.smoke)
        except Exception as e:  # a broken config must not lose the others' results
            res = dict(config=name, fold=fold + 1, error=repr(e))
        with lock:
            with open(queue_path, "a") as f:
                f.write(json.dumps(res) + "\n")
        print(json.dumps(res), flush=True)


def summarise(path):
    rows = [json.loads(l) for l in open(path)]
    by = {}
    for r in rows:
        if "error" not in r:
            by.setdefault(r["config"], []).append(r)
    print(f"{'config':12} {'folds':>5} {'acc':>13} {'macro AUC':>15} {'B-vs-V acc':>13} {'B-vs-V AUC':>15} {'pneu AUC':>15}")
    for name in CONFIGS:
        rs = by.get(name, [])
        if not rs:
            continue
        def ms(key):
            v = np.array([r[key] for r in rs])
            return f"{v.mean():.4f}±{v.std(ddof=1) if len(v) > 1 else 0:.4f}"
        print(f"{name:12} {len(rs):5d} {ms('acc'):>13} {ms('macro_auc'):>15} {ms('bv_acc'):>13} "
              f"{ms('bv_auc'):>15} {ms('pneumonia_auc'):>15}")
    for r in rows:
        if "error" in r:
            print("error:", r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tar")
    ap.add_argument("outdir")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--procs", type=int, default=6)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script on a CPU")
    ap.add_argument("--summary", action="store_true", help="only summarise OUTDIR/results.jsonl")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    path = os.path.join(args.outdir, "results.jsonl")
    if args.summary:
        return summarise(path)
    args.cache = os.path.join("/tmp", "xraykit_screen_cache.npz")
    load_tar(args.tar, args.cache)  # decode once, before the workers start
    names = args.configs.split(",")
    for n in names:
        if n not in CONFIGS:
            sys.exit(f"unknown config '{n}' (known: {', '.join(CONFIGS)})")
    # Fold-major order: if time runs out, every config has the same folds done.
    jobs = [(n, f) for f in range(args.folds) for n in names]
    ctx = torch.multiprocessing.get_context("spawn")
    lock = ctx.Lock()
    procs = [ctx.Process(target=worker, args=(r, jobs, args, path, lock)) for r in range(args.procs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    summarise(path)


if __name__ == "__main__":
    main()
