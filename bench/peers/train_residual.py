"""PyTorch twins of onebit's residual BNNs `birealnet`, `reactnet` and `quicknet`
(src/nn/residualBuilders.ts), and of their float twins (--float), trained on MNIST with onebit's
settings. Prints one JSON line per epoch (see common.train_and_report); `onebit bench train
--model birealnet` runs it beside onebit. `--summary` prints the parameter counts and exits.

    python3 bench/peers/train_residual.py --model birealnet --width 32 --stages 2,2,2 --epochs 1
    python3 bench/peers/train_residual.py --model quicknet --input-shape 224,224,3 --classes 1000 --summary

The architectures, as the builders make them (H x W >= 112: the ImageNet stem, which
downsamples by 4; below it the stem keeps the resolution):
  birealnet: stem conv3x3 (width) -> BN, or at >= 112 conv7x7/2 -> BN -> maxpool 3/2 'same';
             per stage (channels doubling from the second on) blocks
             out = BN(bconv3x3(approx_sign(x))) + shortcut, binary weights magnitude_aware_sign
             (alpha = mean |W| per output channel), 'same' padding reading 0, latent clip 1;
             a stage's first block has stride 2, its shortcut avgpool 2 'same' -> conv1x1 -> BN;
             head: global average pool -> dense (with bias). BN momentum 0.8, eps 1e-3.
  reactnet:  birealnet with RSign (a learned per-channel shift before approx_sign) and RPReLU
             after the add (shift -> PReLU, init 0.25 -> shift).
  quicknet:  stem conv3x3/s (width/4) -> BN -> ReLU -> depthwise 3x3/s -> BN -> conv1x1 (width)
             -> BN, s = 2 at >= 112 else 1; blocks out = x + BN(ReLU(bconv3x3(ste_sign(x)))),
             ste_sign clipped at 1.25 on inputs and latent weights, padding reading +1, latent
             clip 1.25; between stages ReLU -> maxpool 2 stride 1 -> fixed 3x3 blur depthwise
             stride 2 'same' -> conv1x1 (channels x 2) -> BN; head ReLU -> global average pool ->
             dense. BN momentum 0.9, eps 1e-5.
Float twins: no quantizers, no latent clip; Bi-Real's and ReActNet's sign becomes a ReLU.
Every conv and dense kernel is Glorot-uniform, without bias but the classifier's (zero at
start); shifts start at 0. 'same' padding is TensorFlow's (common.pad_same), pools too.
"""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (QuantConv2d, add_training_args, approx_sign, batch_norm, binary_kernels,
                    magnitude_aware_sign, pad_same, start, ste_sign_clipped, train_and_report)

# name: (default BN momentum, Keras convention)
MODELS = {"birealnet": 0.8, "reactnet": 0.8, "quicknet": 0.9}
BATCH = 64


class Shift(nn.Module):
    """y = x + b, b [C] learned, zero at start (ReActNet's RSign and RPReLU shifts)."""

    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x + self.bias.view(1, -1, 1, 1)


class MaxPoolSame(nn.Module):
    """Max pool k / stride s; 'same' pads with -inf (TensorFlow's rule: padding never wins)."""

    def __init__(self, k, stride, padding):
        super().__init__()
        self.k, self.stride, self.same = k, stride, padding == "same"

    def forward(self, x):
        if self.same:
            x = pad_same(x, self.k, self.stride, float("-inf"))
        return F.max_pool2d(x, self.k, self.stride)


class AvgPoolSame(nn.Module):
    """Average pool k / stride s, 'same' with TensorFlow's rule: the mean over the in-bounds taps
    only (padding never counts). Without padding (an even input at k = s = 2) a plain avg_pool2d."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        padded = pad_same(x, self.k, self.k)
        if padded is x:
            return F.avg_pool2d(x, self.k)
        ones = pad_same(torch.ones_like(x[:1, :1]), self.k, self.k)
        return F.avg_pool2d(padded, self.k) / F.avg_pool2d(ones, self.k)


class DepthwiseConv(nn.Module):
    """Float depthwise 3x3 conv, 'same', no bias: trainable (Glorot-uniform as onebit's, limit
    sqrt(6 / (2 k^2))) or the fixed blur [1, 2, 1] / 4 outer itself (a buffer, never trained)."""

    def __init__(self, channels, stride, blur=False, k=3):
        super().__init__()
        self.k, self.stride, self.channels = k, stride, channels
        if blur:
            b = torch.tensor([0.25, 0.5, 0.25])
            self.register_buffer("weight", torch.outer(b, b).expand(channels, 1, k, k).contiguous())
        else:
            limit = (6.0 / (2 * k * k)) ** 0.5
            self.weight = nn.Parameter(torch.empty(channels, 1, k, k).uniform_(-limit, limit))

    def forward(self, x):
        return F.conv2d(pad_same(x, self.k, self.stride), self.weight, stride=self.stride, groups=self.channels)


def conv(c_in, c_out, k, stride=1, padding="valid"):
    """A float conv without bias (the stems, shortcuts and pointwise convs)."""
    return QuantConv2d(c_in, c_out, k, padding=padding, stride=stride)


def classifier(c_in, classes):
    dense = nn.Linear(c_in, classes)
    nn.init.xavier_uniform_(dense.weight)
    nn.init.zeros_(dense.bias)
    return dense


class BiRealBlock(nn.Module):
    """out = BN(bconv3x3(approx_sign(x))) + shortcut(x); ReActNet: RSign before, RPReLU after."""

    def __init__(self, c_in, c_out, stride, a, bn):
        super().__init__()
        self.rsign = Shift(c_in) if a.react else None
        quantized = {} if a.float else dict(input_quantizer=approx_sign, kernel_quantizer=magnitude_aware_sign)
        self.conv = QuantConv2d(c_in, c_out, 3, padding="same", pad_value=0, stride=stride, kernel_clip=1.0,
                                **quantized)
        self.bn = bn(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(AvgPoolSame(2), conv(c_in, c_out, 1), bn(c_out))
        self.rprelu = nn.Sequential(Shift(c_out), nn.PReLU(c_out, init=0.25), Shift(c_out)) if a.react else None
        self.float = a.float

    def forward(self, x):
        y = self.rsign(x) if self.rsign is not None else x
        if self.float:
            y = F.relu(y)
        h = self.bn(self.conv(y)) + (self.shortcut(x) if self.shortcut is not None else x)
        return self.rprelu(h) if self.rprelu is not None else h


def bi_real(a, shape, classes, large):
    bn = lambda c: batch_norm(c, True, keras_momentum=a.momentum, eps=1e-3)  # noqa: E731
    c_img = shape[2]
    if large:
        layers = [conv(c_img, a.width, 7, 2, "same"), bn(a.width), MaxPoolSame(3, 2, "same")]
    else:
        layers = [conv(c_img, a.width, 3, 1, "same"), bn(a.width)]
    channels = a.width
    for s, blocks in enumerate(a.stages):
        for b in range(blocks):
            down = s > 0 and b == 0
            filters = channels * 2 if down else channels
            layers.append(BiRealBlock(channels, filters, 2 if down else 1, a, bn))
            channels = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), classifier(channels, classes))


class QuickBlock(nn.Module):
    """out = x + BN(ReLU(bconv3x3(ste_sign_1.25(x)))), padding reading +1."""

    def __init__(self, channels, a, bn):
        super().__init__()
        q = None if a.float else ste_sign_clipped(1.25)
        self.conv = QuantConv2d(channels, channels, 3, padding="same", pad_value=1, input_quantizer=q,
                                kernel_quantizer=q, kernel_clip=1.25)
        self.bn = bn(channels)

    def forward(self, x):
        return x + self.bn(F.relu(self.conv(x)))


def quick_net(a, shape, classes, large):
    bn = lambda c: batch_norm(c, True, keras_momentum=a.momentum, eps=1e-5)  # noqa: E731
    s = 2 if large else 1
    quarter = a.width // 4
    layers = [conv(shape[2], quarter, 3, s, "same"), bn(quarter), nn.ReLU(),
              DepthwiseConv(quarter, s), bn(quarter), conv(quarter, a.width, 1), bn(a.width)]
    channels = a.width
    for i, blocks in enumerate(a.stages):
        if i > 0:
            layers += [nn.ReLU(), MaxPoolSame(2, 1, "valid"), DepthwiseConv(channels, 2, blur=True),
                       conv(channels, channels * 2, 1), bn(channels * 2)]
            channels *= 2
        layers += [QuickBlock(channels, a, bn) for _ in range(blocks)]
    return nn.Sequential(*layers, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), classifier(channels, classes))


def int_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got '{text}'")
    return values


def build(a):
    """The model of the parsed options, with the builder's defaults filled into `a`."""
    shape = a.input_shape or [28, 28, 1]
    if len(shape) != 3:
        raise SystemExit(f"--input-shape: expected H,W,C, got {shape}")
    large = shape[0] >= 112 and shape[1] >= 112
    a.width = a.width or (64 if large else 32)
    a.stages = a.stages or ([4, 4, 4, 4] if large else [2, 2, 2])
    a.momentum = MODELS[a.model] if a.momentum is None else a.momentum
    a.react = a.model == "reactnet"
    if a.width % 4:
        raise SystemExit(f"--width must be a positive multiple of 4, got {a.width}")
    classes = a.classes or 10
    make = quick_net if a.model == "quicknet" else bi_real
    return make(a, shape, classes, large), shape, classes


def counts(model):
    """Trainable parameters, the binarized latent weights among them, and the buffers onebit
    also counts in its summary's params (BN running mean and variance, the fixed blur kernels;
    not PyTorch's num_batches_tracked)."""
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    return dict(params=params, binary_params=sum(w.numel() for w in binary_kernels(model)), buffers=buffers,
                summary_params=params + buffers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--float", action="store_true", help="the float twin")
    ap.add_argument("--width", type=int, help="channels of the first stage (64 at >= 112 pixels, else 32)")
    ap.add_argument("--stages", type=int_list, help="blocks per stage, e.g. 2,2,2 ([4,4,4,4] at >= 112, else 2,2,2)")
    ap.add_argument("--input-shape", type=int_list, help="H,W,C (default 28,28,1; training reads MNIST, 28,28,1)")
    ap.add_argument("--classes", type=int, help="number of classes (default 10)")
    ap.add_argument("--momentum", type=float, help="BN momentum, Keras convention (0.8 Bi-Real/ReActNet, 0.9 QuickNet)")
    ap.add_argument("--summary", action="store_true",
                    help="print one JSON line of parameter counts (params, binary_params, buffers, "
                         "summary_params = params + buffers, onebit summary's totals.params) and exit")
    add_training_args(ap)
    a = ap.parse_args()

    start(a)
    model, shape, classes = build(a)
    info = dict(model=a.model, float=a.float, width=a.width, stages=a.stages, input_shape=shape,
                classes=classes, momentum=a.momentum)
    if a.summary:
        print(json.dumps(dict(info, **counts(model), torch=torch.__version__)), flush=True)
        return
    if shape != [28, 28, 1] or classes != 10:
        raise SystemExit("training reads MNIST: --input-shape 28,28,1 and --classes 10 (use --summary for others)")
    train_and_report(model, a, a.batch or BATCH, info)


if __name__ == "__main__":
    main()
