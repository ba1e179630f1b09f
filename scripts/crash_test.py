#!/usr/bin/env python3
"""Crash safety (issue 12): kill -9 at random moments while models and checkpoints are being
written, and SIGTERM during `xraykit train` followed by --resume.

usage: PYTHONPATH=build/python /usr/bin/python3 scripts/crash_test.py XRAYKIT_BINARY DATA_DIR [--kills N]

1. Model saves: a child process saves two different models to one path in turn, for ever; it
   is killed with SIGKILL after a random delay, N times. After each kill the path must hold a
   whole model, equal to one of the two (never missing, truncated or mixed).
2. Checkpoints: `xraykit train` with a checkpoint every epoch is killed with SIGKILL at a random
   moment, N/4 times; every checkpoint left behind must let `--resume` finish the run.
3. SIGTERM: a run stopped by SIGTERM and resumed ends with the weights of an uninterrupted run.
Prints one line per part and "crash test OK" when all hold.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

import xraykit

SAVER = r"""
import sys, xraykit
a = xraykit.ResNetClassifier.load(sys.argv[1]); b = xraykit.ResNetClassifier.load(sys.argv[2])
print("ready", flush=True)
while True:
    a.save(sys.argv[3]); b.save(sys.argv[3])
"""


def weights(path):
    return xraykit.ResNetClassifier.load(path).state_dict()


def same(w1, w2):
    return w1.keys() == w2.keys() and all(np.array_equal(w1[k], w2[k]) for k in w1)


def small_data(data, work, every):
    """Every `every`-th real image of each class, linked into WORK/data."""
    root = os.path.join(work, "data")
    for cls in ("NORMAL", "PNEUMONIA"):
        os.makedirs(os.path.join(root, cls))
        for name in sorted(os.listdir(os.path.join(data, cls)))[::every]:
            os.symlink(os.path.join(data, cls, name), os.path.join(root, cls, name))
    return root


def train_command(xk, data, out, *extra):
    """The small, deterministic training run every part uses (fp32: the same on every CPU)."""
    return [xk, "train", data, "-o", out, "--size", "32", "--epochs", "6", "--no-bf16", "--seed", "5", *extra]


def train(xk, data, out, *extra, check=True):
    return subprocess.run(train_command(xk, data, out, *extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=check)


def model_saves(work, kills, rng):
    a, b = os.path.join(work, "a.xrk"), os.path.join(work, "b.xrk")
    xraykit.ResNetClassifier("resnet18", image_size=32, seed=1).save(a)
    xraykit.ResNetClassifier("resnet18", image_size=32, seed=2).save(b)
    wa, wb = weights(a), weights(b)
    target = os.path.join(work, "target.xrk")
    shutil.copy(a, target)
    for i in range(kills):
        child = subprocess.Popen([sys.executable, "-c", SAVER, a, b, target], stdout=subprocess.PIPE, text=True)
        child.stdout.readline()  # loaded: from here on it only saves
        time.sleep(rng.uniform(0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        w = weights(target)  # raises on a missing or broken file
        if not (same(w, wa) or same(w, wb)):
            sys.exit(f"kill {i + 1}: {target} holds neither model")
    left = [f for f in os.listdir(work) if f.startswith("target.xrk.")]
    xraykit.ResNetClassifier.load(a).save(target)  # a save removes the temporaries of dead writers
    after = [f for f in os.listdir(work) if f.startswith("target.xrk.")]
    if after:
        sys.exit(f"temporaries of killed savers remain after the next save: {after}")
    print(f"model saves: {kills} kills with SIGKILL, every time a whole model; "
          f"{len(left)} temporary file(s) left by the kills (each save removes earlier ones), none after one more save")


def checkpoints(xk, data, work, kills, rng):
    # Kills land anywhere in a run, however fast this machine is: a whole run is timed first.
    start = time.monotonic()
    train(xk, data, os.path.join(work, "timing.xrk"))
    duration = time.monotonic() - start
    resumed = 0
    for i in range(kills):
        out = os.path.join(work, f"k{i}.xrk")
        child = subprocess.Popen(train_command(xk, data, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 0.95) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait()
        ckpt = out + ".ckpt"
        if os.path.exists(ckpt):
            r = train(xk, data, out, "--resume", ckpt, check=False)
            if r.returncode != 0:
                sys.exit(f"kill {i + 1}: resuming from the checkpoint failed: {r.stderr.strip()[-300:]}")
            resumed += 1
        if os.path.exists(out):
            weights(out)
    if resumed == 0:
        sys.exit("no kill left a checkpoint to resume: the kills came too early (use more data or fewer)")
    print(f"checkpoints: {kills} kills with SIGKILL during training; {resumed} left a checkpoint, "
          "and each resumed to the end")


def sigterm(xk, data, work):
    whole = os.path.join(work, "whole.xrk")
    train(xk, data, whole)
    out = os.path.join(work, "stopped.xrk")
    child = subprocess.Popen(train_command(xk, data, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while not os.path.exists(out + ".ckpt") and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGTERM)
    log = child.communicate()[0]
    if "stopped (Ctrl-C or SIGTERM)" not in log:
        sys.exit("SIGTERM did not stop training cleanly (the run may have ended first; use more data):\n" + log[-500:])
    train(xk, data, out, "--resume", out + ".ckpt")
    if not same(weights(whole), weights(out)):
        sys.exit("after SIGTERM and --resume the weights differ from the uninterrupted run")
    print("SIGTERM: training stopped after the current step, --resume ended with the uninterrupted run's weights")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("xraykit")
    ap.add_argument("data")
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--every", type=int, default=20, help="use every N-th training image")
    args = ap.parse_args()
    rng = random.Random(7)
    work = tempfile.mkdtemp(prefix="xraykit-crash-")
    try:
        data = small_data(args.data, work, args.every)
        model_saves(work, args.kills, rng)
        checkpoints(args.xraykit, data, work, max(1, args.kills // 4), rng)
        sigterm(args.xraykit, data, work)
        print("crash test OK")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
