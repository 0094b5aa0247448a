#!/usr/bin/env python3
"""Writes the residual ONNX fixtures of test/fixtures/onnx (issue 16): PyTorch BNNs written the
way their authors write them, trained briefly on a slice of MNIST or Fashion-MNIST on the CPU,
and exported with torch.onnx.export of the training module as it is (eval mode, the exporter's
default constant folding), for onebit import (test/interop/residual-fixtures.test.ts).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp python3 scripts/make-residual-onnx.py [NAME ...]

Needs Debian's python3-torch and python3-onnx (and dataset-fashion-mnist). Inputs are NCHW
[N, 1, 28, 28], dynamic batch "N"; each model's input range is printed and kept in
test/fixtures/onnx/residual.json beside its data set and its test accuracy.

  birealnet-twin  bench/peers/train_residual.py's birealnet (approx_sign, magnitude-aware
                  weights, TF 'same' padding by F.pad, AvgPool + 1x1 conv + BN shortcut)  MNIST
  reactnet-twin   its reactnet (RSign shifts, RPReLU)                                   Fashion-MNIST
  quicknet-twin   its quicknet (ste_sign at 1.25, +1 padding, blur depthwise downsampling) MNIST
  where-sign      a CNN whose sign is torch.where(h >= 0, ones_like, -ones_like) behind
                  F.hardtanh, in the straight-through form h + (sign(h) - h).detach(),
                  PyTorch padding=1 convs (one at stride 2), binary weights sign(w)        MNIST
  react-style     ReActNet as its authors' code writes it: LearnableBias via
                  x + bias.expand_as(x) (RSign, RPReLU), Bi-Real's polynomial residue
                  sign(x).detach() - p(x).detach() + p(x), HardBinaryConv weights
                  alpha * sign(w) with the clamp STE, BN after each binary conv, real
                  shortcuts, AvgPool2d(2) + 1x1 conv + BN downsampling, padding=1 stride-2
                  binary convs, a padding=1 stride-2 float stem, global average pool, a
                  float head                                                            Fashion-MNIST
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))

from common import clip_latent_weights, default_data_dir, latent_clips, load_idx_folder  # noqa: E402
import train_residual  # noqa: E402

OUT = os.path.join(ROOT, "test", "fixtures", "onnx")
torch.set_num_threads(2)


# --- the two cases of the issue, as PyTorch users write them ---------------------------------

class HardtanhWhereSign(nn.Module):
    """sign(hardtanh(x)) with the straight-through estimator, torch.where for the sign."""

    def forward(self, x):
        h = F.hardtanh(x)
        s = torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h))
        return h + (s - h).detach()


class SignConv(nn.Conv2d):
    """Binary weights sign(w) with the straight-through estimator."""

    def forward(self, x):
        w = self.weight
        wb = w + (torch.sign(w) - w).detach()
        return F.conv2d(x, wb, None, self.stride, self.padding)


class WhereSignNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
        self.act = HardtanhWhereSign()
        self.conv1 = SignConv(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = SignConv(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.bn1(self.conv1(x)))
        x = self.pool(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class LearnableBias(nn.Module):
    def __init__(self, out_chn):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, out_chn, 1, 1), requires_grad=True)

    def forward(self, x):
        return x + self.bias.expand_as(x)


class BinaryActivation(nn.Module):
    def forward(self, x):
        out_forward = torch.sign(x)
        mask1 = x < -1
        mask2 = x < 0
        mask3 = x < 1
        out1 = (-1) * mask1.type(torch.float32) + (x * x + 2 * x) * (1 - mask1.type(torch.float32))
        out2 = out1 * mask2.type(torch.float32) + (-x * x + 2 * x) * (1 - mask2.type(torch.float32))
        out3 = out2 * mask3.type(torch.float32) + 1 * (1 - mask3.type(torch.float32))
        out = out_forward.detach() - out3.detach() + out3
        return out


class HardBinaryConv(nn.Module):
    def __init__(self, in_chn, out_chn, kernel_size=3, stride=1, padding=1):
        super().__init__()
        self.stride = stride
        self.padding = padding
        self.shape = (out_chn, in_chn, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.rand(self.shape) * 0.001, requires_grad=True)

    def forward(self, x):
        real_weights = self.weight
        scaling_factor = torch.mean(
            torch.mean(torch.mean(abs(real_weights), dim=3, keepdim=True), dim=2, keepdim=True), dim=1, keepdim=True
        )
        scaling_factor = scaling_factor.detach()
        binary_weights_no_grad = scaling_factor * torch.sign(real_weights)
        cliped_weights = torch.clamp(real_weights, -1.0, 1.0)
        binary_weights = binary_weights_no_grad.detach() - cliped_weights.detach() + cliped_weights
        return F.conv2d(x, binary_weights, stride=self.stride, padding=self.padding)


class ReactBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.move0 = LearnableBias(inplanes)
        self.binary_activation = BinaryActivation()
        self.binary_conv = HardBinaryConv(inplanes, planes, stride=stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.move1 = LearnableBias(planes)
        self.prelu = nn.PReLU(planes)
        self.move2 = LearnableBias(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=stride),
                nn.Conv2d(inplanes, planes, 1, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        residual = x
        out = self.move0(x)
        out = self.binary_activation(out)
        out = self.binary_conv(out)
        out = self.bn1(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        out = self.move1(out)
        out = self.prelu(out)
        out = self.move2(out)
        return out


class ReactStyleNet(nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width))
        self.blocks = nn.Sequential(
            ReactBlock(width, width), ReactBlock(width, 2 * width, stride=2), ReactBlock(2 * width, 2 * width)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


# --- the residual twins: bench/peers/train_residual.py's modules, narrow --------------------

def twin(model):
    class Args:
        pass

    a = Args()
    a.model, a.float, a.width, a.stages, a.input_shape, a.classes, a.momentum = model, False, 8, [1, 1], None, 10, None
    return train_residual.build(a)[0]


# name: (builder, data set, input range, training images, lr)
FIXTURES = {
    "birealnet-twin": (lambda: twin("birealnet"), "mnist", (-1, 1), 6000, 1e-2),
    "reactnet-twin": (lambda: twin("reactnet"), "fashion-mnist", (-1, 1), 6000, 1e-2),
    "quicknet-twin": (lambda: twin("quicknet"), "mnist", (-1, 1), 6000, 1e-2),
    "where-sign": (WhereSignNet, "mnist", (0, 1), 6000, 1e-2),
    "react-style": (ReactStyleNet, "fashion-mnist", (0, 1), 6000, 5e-3),
}


def inputs(images, lo, hi):
    return torch.from_numpy(images.astype(np.float32) * np.float32((hi - lo) / 255) + np.float32(lo)).unsqueeze(1)


def make(name):
    build, data, (lo, hi), limit, lr = FIXTURES[name]
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_idx_folder(default_data_dir(data))
    x = inputs(x_train[:limit], lo, hi)
    y = torch.from_numpy(y_train[:limit].astype(np.int64))
    model = build()
    clips = latent_clips(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for epoch in range(2):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = order[i : i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
            clip_latent_weights(clips)
    model.eval()
    tx = inputs(x_test[:2000], lo, hi)
    ty = torch.from_numpy(y_test[:2000].astype(np.int64))
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).float().mean().item()
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path, input_names=["image"], output_names=["scores"],
        dynamic_axes={"image": {0: "N"}, "scores": {0: "N"}}, opset_version=13,
    )
    print(f"{path}: {os.path.getsize(path)} bytes, {data}, input range [{lo}, {hi}], "
          f"accuracy {acc:.3f} on 2000 test images", flush=True)
    return dict(data=data, inputRange=[lo, hi], accuracy2000=round(acc, 4))


def main():
    names = sys.argv[1:] or list(FIXTURES)
    index_path = os.path.join(OUT, "residual.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else {}
    for name in names:
        if name not in FIXTURES:
            raise SystemExit(f"unknown fixture '{name}'; one of {', '.join(FIXTURES)}")
        index[name] = make(name)
    with open(index_path, "w") as f:
        json.dump(dict(sorted(index.items())), f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
