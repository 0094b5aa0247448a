/**
 * A float depthwise convolution (one k x k filter per channel, depth multiplier 1), as in
 * QuickNet: a trainable one in the stem, and in each transition a fixed blur
 * (`kernel: "blur"`, the outer product of [1, 2, 1] / 4 with itself, as Larq Zoo's blur
 * pool) before a strided float 1x1 conv. Weights [k, k, C]; a fixed kernel is a buffer
 * (saved in checkpoints, never trained), a trainable one is Glorot-uniform initialized.
 *   y[n, i, j, c] = sum_{u, v} x[n, i*s + u - p, j*s + v - p, c] * w[u, v, c] (+ b[c])
 */
import { convGeometry, type Padding } from "../kernels/geometry.js";
import { add, depthwiseConv2d } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Random } from "../util/random.js";
import type { Layer, LayerParam } from "./layer.js";
import { checkPositive } from "./registry.js";

const KEYS = ["kernelSize", "stride", "padding", "useBias", "kernel", "channels"];

export interface DepthwiseConfig extends Record<string, unknown> {
  kernelSize: number;
  stride: number;
  padding: Padding;
  useBias: boolean;
  /** "trainable" (default) or "blur" (fixed; needs kernelSize 3). */
  kernel: "trainable" | "blur";
  channels: number;
}

export class DepthwiseConv2D implements Layer {
  readonly type = "depthwise_conv2d";
  readonly config: DepthwiseConfig;
  private readonly weight: Tensor;
  private readonly bias: Tensor | null;

  /** The full config and output shape for an input shape (the spec resolver calls it). */
  static resolve(input: readonly number[], o: Record<string, unknown>, where: string) {
    for (const k of Object.keys(o)) {
      if (!KEYS.includes(k))
        throw new RangeError(`${where}: unknown option '${k}'; its options are ${KEYS.join(", ")}`);
    }
    if (input.length !== 3) throw new Error(`${where}: expects an input [H, W, C], got [${input}]`);
    const kernelSize = (o.kernelSize ?? 3) as number;
    const stride = (o.stride ?? 1) as number;
    const padding = (o.padding ?? "same") as Padding;
    const kernel = (o.kernel ?? "trainable") as DepthwiseConfig["kernel"];
    checkPositive(where, { kernelSize, stride });
    if (padding !== "valid" && padding !== "same") {
      throw new RangeError(`${where}: padding must be 'valid' or 'same', got '${String(padding)}'`);
    }
    if (kernel !== "trainable" && kernel !== "blur") {
      throw new RangeError(`${where}: kernel must be 'trainable' or 'blur', got '${String(kernel)}'`);
    }
    if (kernel === "blur" && kernelSize !== 3)
      throw new RangeError(`${where}: the blur kernel is 3x3, got kernelSize ${kernelSize}`);
    const channels = input[2]!;
    if (o.channels !== undefined && o.channels !== channels) {
      throw new Error(
        `${where}: its config says ${String(o.channels)} channels, its input has shape [${input}]`,
      );
    }
    if (padding === "valid" && (input[0]! < kernelSize || input[1]! < kernelSize)) {
      throw new Error(
        `${where}: a ${kernelSize}x${kernelSize} 'valid' conv needs a larger input than [${input}]`,
      );
    }
    const [h, w] = convOutput(input, kernelSize, stride, padding);
    const config: DepthwiseConfig = {
      kernelSize,
      stride,
      padding,
      useBias: (o.useBias ?? false) as boolean,
      kernel,
      channels,
    };
    return { config: config as unknown as Record<string, unknown>, shape: [h, w, channels] };
  }

  constructor(
    ctx: Context,
    input: readonly number[],
    o: Record<string, unknown>,
    rng: Random,
    where = "DepthwiseConv2D",
  ) {
    this.config = DepthwiseConv2D.resolve(input, o, where).config as unknown as DepthwiseConfig;
    const { kernelSize: k, channels: c } = this.config;
    if (this.config.kernel === "blur") {
      const b = [0.25, 0.5, 0.25];
      const data = new Float32Array(9 * c);
      for (let u = 0; u < 3; u++)
        for (let v = 0; v < 3; v++) data.fill(b[u]! * b[v]!, (u * 3 + v) * c, (u * 3 + v + 1) * c);
      this.weight = ctx.keep(ctx.fromArray(data, [3, 3, c]));
    } else {
      const limit = Math.sqrt(6 / (2 * k * k));
      this.weight = ctx.parameter(ctx.uniform([k, k, c], rng, -limit, limit));
    }
    this.bias = this.config.useBias ? ctx.parameter(ctx.zeros([c])) : null;
  }

  outputShape(input: readonly number[]): number[] {
    const [h, w] = convOutput(input, this.config.kernelSize, this.config.stride, this.config.padding);
    return [h, w, this.config.channels];
  }

  forward(x: Tensor): Tensor {
    const y = depthwiseConv2d(x, this.weight, { stride: this.config.stride, padding: this.config.padding });
    return this.bias ? add(y, this.bias) : y;
  }

  params(): LayerParam[] {
    const p: LayerParam[] = [];
    if (this.config.kernel !== "blur")
      p.push({ name: "kernel", tensor: this.weight, clip: 0, binary: false });
    if (this.bias) p.push({ name: "bias", tensor: this.bias, clip: 0, binary: false });
    return p;
  }

  buffers() {
    return this.config.kernel === "blur" ? [{ name: "kernel", tensor: this.weight }] : [];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}

function convOutput(input: readonly number[], k: number, stride: number, padding: Padding): [number, number] {
  const g = convGeometry(1, input[0]!, input[1]!, input[2]!, k, k, stride, stride, padding);
  return [g.outH, g.outW];
}
