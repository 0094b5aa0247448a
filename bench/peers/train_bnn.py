"""PyTorch twins of onebit's reference models `bnn-mlp` and `bnn-cnn` (src/nn/builders.ts), and
of their float twins (--float), trained on MNIST with onebit's settings. Prints one JSON line
per epoch (see common.train_and_report); `onebit bench train` runs it beside onebit.

    python3 bench/peers/train_bnn.py --model bnn-mlp --epochs 1 --threads 2
    python3 bench/peers/train_bnn.py --model bnn-cnn --first bwn --last binary --epochs 1

The architectures, as the builders make them (sign is the next binary layer's input quantizer):
  bnn-mlp: flatten -> 3 x (dense W, BN) -> dense 10 -> BN; W = --width (1024);
           BN momentum 0.9 (Keras convention) and eps 1e-5, with gamma; batch 100.
  bnn-cnn: conv 32 -> maxpool 2 -> BN -> conv 64 -> maxpool 2 -> BN -> conv 64 -> BN -> flatten
           -> dense 64 -> BN -> dense 10 -> BN; 3x3 convs, 'valid' unless --padding same;
           widths times --width (1); BN momentum 0.99, eps 1e-3, no gamma; batch 64.
Hidden weight layers binarize input and kernel. --first / --last set the outer two:
'float' (real kernel), 'bwn' (binary kernel) or 'binary' (binary kernel and input); the first
layer sees the real image unless it is 'binary', the last always sees the signs of the layer
before it. Defaults as the builders: bnn-mlp first 'bwn', all others 'float'.
The float twin has no quantizers and a ReLU where the binary net binarizes.
"""
import argparse

import torch.nn as nn

from common import QuantConv2d, QuantLinear, add_training_args, batch_norm, start, train_and_report

IMAGE_SIZE, CLASSES = 28, 10

MODELS = {
    # name: (weight layers, default batch, default first-layer precision)
    "bnn-mlp": (4, 100, "bwn"),
    "bnn-cnn": (5, 64, "float"),
}


class Precisions:
    """Hands out (binary input, binary kernel) for each weight layer in order, by its position:
    the rule of onebit's builders."""

    def __init__(self, weight_layers, float_twin, first, last):
        self.count, self.float_twin, self.first, self.last = weight_layers, float_twin, first, last
        self.index = 0

    def next(self):
        i, self.index = self.index, self.index + 1
        if self.float_twin:
            return False, False
        role = self.first if i == 0 else self.last if i == self.count - 1 else "binary"
        return i > 0 or role == "binary", role != "float"


def relu(a):
    """The float twin's nonlinearity where the binary net binarizes (as a list to splice in)."""
    return [nn.ReLU()] if a.float else []


def bnn_mlp(a, p):
    width, depth = a.width or 1024, 3
    bn = lambda c: batch_norm(c, spatial=False, keras_momentum=0.9, eps=1e-5)  # noqa: E731
    layers, n_in = [nn.Flatten()], IMAGE_SIZE * IMAGE_SIZE
    for i in range(depth):
        layers += (relu(a) if i > 0 else []) + [QuantLinear(n_in, width, *p.next()), bn(width)]
        n_in = width
    return nn.Sequential(*layers, *relu(a), QuantLinear(n_in, CLASSES, *p.next()), bn(CLASSES))


def bnn_cnn(a, p):
    m = a.width or 1
    conv = lambda c_in, c_out: QuantConv2d(c_in, c_out, 3, *p.next(), padding=a.padding,  # noqa: E731
                                           pad_value=a.pad_value)
    bn = lambda c, spatial: batch_norm(c, spatial, keras_momentum=0.99, eps=1e-3, scale=False)  # noqa: E731
    side = IMAGE_SIZE
    shrink = 0 if a.padding == "same" else 2  # a 3x3 'valid' conv drops a pixel at each border
    side = ((side - shrink) // 2 - shrink) // 2 - shrink  # conv, pool, conv, pool, conv
    return nn.Sequential(
        conv(1, 32 * m), nn.MaxPool2d(2), bn(32 * m, True), *relu(a),
        conv(32 * m, 64 * m), nn.MaxPool2d(2), bn(64 * m, True), *relu(a),
        conv(64 * m, 64 * m), bn(64 * m, True), nn.Flatten(), *relu(a),
        QuantLinear(side * side * 64 * m, 64 * m, *p.next()), bn(64 * m, False), *relu(a),
        QuantLinear(64 * m, CLASSES, *p.next()), bn(CLASSES, False),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--float", action="store_true", help="the float twin")
    precisions = ["float", "bwn", "binary"]
    ap.add_argument("--first", choices=precisions, help="first weight layer (default: the model's)")
    ap.add_argument("--last", choices=precisions, default="float", help="last weight layer")
    ap.add_argument("--width", type=int, help="bnn-mlp: hidden units (1024); bnn-cnn: filter multiplier (1)")
    ap.add_argument("--padding", choices=["valid", "same"], default="valid", help="bnn-cnn convs")
    ap.add_argument("--pad-value", type=int, choices=[-1, 0, 1], default=0, help="what 'same' padding reads")
    add_training_args(ap)
    a = ap.parse_args()

    weight_layers, default_batch, default_first = MODELS[a.model]
    first = a.first or default_first
    start(a)
    p = Precisions(weight_layers, a.float, first, a.last)
    model = (bnn_mlp if a.model == "bnn-mlp" else bnn_cnn)(a, p)
    info = dict(model=a.model, float=a.float, first="float" if a.float else first,
                last="float" if a.float else a.last, width=a.width, padding=a.padding, pad_value=a.pad_value)
    train_and_report(model, a, a.batch or default_batch, info)


if __name__ == "__main__":
    main()
