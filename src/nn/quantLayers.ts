/**
 * QuantDense and QuantConv2D: the float layers plus quantizer hooks (as Larq's
 * QuantDense / QuantConv2D):
 *   y = op(qIn(x), qK(W)) (+ bias), op = x W^T (dense, W [out, in]) or conv (W OHWI).
 * - `inputQuantizer` binarizes (or k-bit quantizes) the input; unset = real input (BWN).
 * - `kernelQuantizer` quantizes the latent weights; unset = a float layer.
 * - `scaling`: 'none'; 'xnor-weights' = XNOR-Net's per-output-channel alpha = mean|W|
 *   (the kernel quantizer becomes magnitude_aware_sign, with its gradient); 'xnor' = alpha
 *   and the activation scale K (conv: box-filtered mean |I| over channels, see
 *   quant/xnorScale.ts; dense: K[n] = mean_i |x[n, i]|), y = (qIn(x) op sign(W)) * K * alpha.
 * - conv `padValue` (-1, 0, +1): what the padding reads; binary nets train with the value
 *   they will be deployed with.
 * Quantized latent weights get `kernelClip` (default 1): clamped to [-1, 1] after each step.
 *
 * A layer with a 1-bit input and a 1-bit kernel quantizer computes op(qIn(x), qK(W)) with
 * ops/binaryProduct.ts: an exact integer dot on the packed XOR-popcount kernels, times
 * alpha after the sum, and its gradients on the sign GEMM; with `mode.xnorForward` false,
 * the same forward values and sgemm gradients in float. Other layers use float ops.
 */
import { convGeometry, type Padding } from "../kernels/geometry.js";
import { add, binaryConv2d, binaryMatmul, conv2d, matmul } from "../ops/index.js";
import { quantize, scaleRows } from "../quant/op.js";
import {
  getQuantizer,
  magnitudeAwareSign,
  type Quantizer,
  type QuantizerSpec,
  quantizerSpec,
} from "../quant/quantizers.js";
import { xnorActivationScale } from "../quant/xnorScale.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Random } from "../util/random.js";
import { glorotUniform } from "./init.js";
import type { ForwardMode, Layer, LayerParam } from "./layer.js";

/**
 * XNOR-Net scaling: none, per-output-channel weight scales ("xnor-weights"), or weight and
 * input scales ("xnor").
 */
export type Scaling = "none" | "xnor-weights" | "xnor";

export interface QuantOptions {
  inputQuantizer?: string | QuantizerSpec | null;
  kernelQuantizer?: string | QuantizerSpec | null;
  scaling?: Scaling;
  /** Default false (binary layers are followed by batch norm). */
  useBias?: boolean;
  /** Latent-weight clip; default 1 for a quantized kernel (bits < 32), 0 (none) otherwise. */
  kernelClip?: number;
}

/** Options of a QuantDense layer: its units and its quantizers. */
export interface QuantDenseOptions extends QuantOptions {
  units: number;
  /** Checked against the input when given (a resolved config carries it). */
  inFeatures?: number;
}

/**
 * Options of a QuantConv2D layer: filters, kernel, stride, padding, pad value and its
 * quantizers.
 */
export interface QuantConv2DOptions extends QuantOptions {
  filters: number;
  kernelSize: number;
  stride?: number;
  padding?: Padding;
  /** Value read outside the image: -1, 0 or +1. Default 0. */
  padValue?: -1 | 0 | 1;
  /** Checked against the input when given (a resolved config carries it). */
  inChannels?: number;
}

/** Resolves hooks shared by both layers; `where` names the layer in errors and warnings. */
function resolveHooks(o: QuantOptions, where: string) {
  const input = o.inputQuantizer ? getQuantizer(o.inputQuantizer) : null;
  let kernel = o.kernelQuantizer ? getQuantizer(o.kernelQuantizer) : null;
  const scaling = o.scaling ?? "none";
  if (!["none", "xnor-weights", "xnor"].includes(scaling)) {
    throw new RangeError(`${where}: scaling must be 'none', 'xnor-weights' or 'xnor', got '${scaling}'`);
  }
  if (scaling !== "none") {
    if (kernel?.bits !== 1) throw new Error(`${where}: scaling '${scaling}' needs a 1-bit kernel quantizer`);
    kernel = magnitudeAwareSign;
  }
  const binaryKernel = kernel?.bits === 1;
  // Both operands in {-1, +1} (weights times alpha): the product is an exact integer dot.
  const binaryProduct = binaryKernel && input?.bits === 1;
  // Quantizers on [-1, 1] (bits < 32) pass no gradient beyond it: keep latent weights inside.
  const clip = o.kernelClip ?? (kernel && kernel.bits < 32 ? 1 : 0);
  if (binaryKernel && !(clip > 0)) {
    console.warn(`${where}: binary kernel without a latent-weight clip; latent weights may drift (starve)`);
  }
  const config = {
    inputQuantizer: input ? quantizerSpec(input) : null,
    kernelQuantizer: kernel ? quantizerSpec(kernel) : null,
    scaling,
    useBias: o.useBias ?? false,
    kernelClip: clip,
  };
  return { input, kernel, scaling, clip, binaryKernel, binaryProduct, config };
}

abstract class QuantLayerBase implements Layer {
  abstract readonly type: string;
  abstract readonly config: Record<string, unknown>;
  protected readonly kernel: Tensor;
  protected readonly bias: Tensor | null;

  constructor(
    protected readonly ctx: Context,
    kernelShape: number[],
    protected readonly hooks: ReturnType<typeof resolveHooks>,
    rng: Random,
  ) {
    this.kernel = ctx.parameter(glorotUniform(ctx, kernelShape, rng));
    this.bias = hooks.config.useBias ? ctx.parameter(ctx.zeros([kernelShape[0]!])) : null;
  }

  abstract outputShape(input: readonly number[]): number[];
  abstract forward(x: Tensor, mode: ForwardMode): Tensor;

  protected quantizeInput(x: Tensor, mode: ForwardMode): Tensor {
    const q = this.hooks.input;
    return q ? quantize(q, x, { channels: 1, training: mode.training, rng: mode.rng }) : x;
  }

  protected quantizedKernel(mode: ForwardMode): Tensor {
    const q: Quantizer | null = this.hooks.kernel;
    const w = this.kernel;
    return q ? quantize(q, w, { channels: w.shape[0]!, training: mode.training, rng: mode.rng }) : w;
  }

  params(): LayerParam[] {
    const p: LayerParam[] = [
      { name: "kernel", tensor: this.kernel, clip: this.hooks.clip, binary: this.hooks.binaryKernel },
    ];
    if (this.bias) p.push({ name: "bias", tensor: this.bias, clip: 0, binary: false });
    return p;
  }

  buffers() {
    return [];
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias?.dispose();
  }
}

/**
 * A dense layer with an input quantizer and a kernel quantizer (Larq's QuantDense); with 1-bit
 * input and kernel it runs on the XOR-popcount kernels.
 */
export class QuantDense extends QuantLayerBase {
  readonly type = "quant_dense";
  readonly config: Record<string, unknown>;

  /**
   * The full config (defaults written in) of a dense layer over `inputShape` [in], and its
   * output shape; pure, so a model spec can be checked without building it.
   */
  static resolve(inputShape: readonly number[], o: QuantDenseOptions, name = "QuantDense") {
    if (inputShape.length !== 1) {
      throw new Error(`${name}: expects a flat input [features], got [${inputShape}] (add a flatten layer)`);
    }
    if (!Number.isSafeInteger(o.units) || o.units < 1) {
      throw new RangeError(`${name}: units must be a positive integer, got ${String(o.units)}`);
    }
    const inFeatures = inputShape[0]!;
    if (o.inFeatures !== undefined && o.inFeatures !== inFeatures) {
      throw new Error(
        `${name}: its config says ${o.inFeatures} input features, its input has shape [${inputShape}]`,
      );
    }
    const hooks = resolveHooks(o, name);
    return { hooks, config: { units: o.units, inFeatures, ...hooks.config }, shape: [o.units] };
  }

  /** Input shape [in] (without batch). Kernel [units, in]. */
  constructor(
    ctx: Context,
    inputShape: readonly number[],
    o: QuantDenseOptions,
    rng: Random,
    name = "QuantDense",
  ) {
    const r = QuantDense.resolve(inputShape, o, name);
    super(ctx, [o.units, inputShape[0]!], r.hooks, rng);
    this.config = r.config;
  }

  /** {@inheritDoc Layer.outputShape} */
  outputShape(): number[] {
    return [this.config.units as number];
  }

  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    const xq = this.quantizeInput(x, mode);
    const wq = this.quantizedKernel(mode);
    let y = this.hooks.binaryProduct
      ? binaryMatmul(xq, wq, { xnor: mode.xnorForward ?? true })
      : matmul(xq, wq, { transB: true });
    if (this.hooks.scaling === "xnor") {
      const [n, f] = x.shape as [number, number];
      const xd = x.data;
      const k = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let i = r * f; i < (r + 1) * f; i++) s += Math.abs(xd[i]!);
        k[r] = s / f;
      }
      y = scaleRows(y, k);
    }
    return this.bias ? add(y, this.bias) : y;
  }
}

/**
 * A 2D convolution (NHWC, OHWI kernel) with an input quantizer and a kernel quantizer (Larq's
 * QuantConv2D); with 1-bit input and kernel it runs on the XOR-popcount kernels.
 */
export class QuantConv2D extends QuantLayerBase {
  readonly type = "quant_conv2d";
  readonly config: Record<string, unknown>;
  private readonly opts: Required<Pick<QuantConv2DOptions, "stride" | "padding" | "padValue">>;

  /**
   * The full config (defaults written in) of a conv over `inputShape` [H, W, C], and its
   * output shape; pure, so a model spec can be checked without building it.
   */
  static resolve(inputShape: readonly number[], o: QuantConv2DOptions, name = "QuantConv2D") {
    if (inputShape.length !== 3) throw new Error(`${name}: expects an input [H, W, C], got [${inputShape}]`);
    const padValue = o.padValue ?? 0;
    if (![-1, 0, 1].includes(padValue))
      throw new RangeError(`${name}: padValue must be -1, 0 or +1, got ${padValue}`);
    for (const [key, v] of [
      ["filters", o.filters],
      ["kernelSize", o.kernelSize],
      ["stride", o.stride ?? 1],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new RangeError(`${name}: ${key} must be a positive integer, got ${String(v)}`);
      }
    }
    const padding = o.padding ?? "valid";
    if (padding !== "valid" && padding !== "same") {
      throw new RangeError(`${name}: padding must be 'valid' or 'same', got '${String(padding)}'`);
    }
    const [h, w, c] = inputShape as [number, number, number];
    if (o.inChannels !== undefined && o.inChannels !== c) {
      throw new Error(
        `${name}: its config says ${o.inChannels} input channels, its input has shape [${inputShape}]`,
      );
    }
    const stride = o.stride ?? 1;
    const k = o.kernelSize;
    if (padding === "valid" && (h < k || w < k)) {
      throw new Error(
        `${name}: a ${k}x${k} 'valid' conv needs an input of at least ${k}x${k}, got [${inputShape}]`,
      );
    }
    const hooks = resolveHooks(o, name);
    const opts = { stride, padding, padValue };
    const g = convGeometry(1, h, w, c, k, k, stride, stride, padding);
    const config = { filters: o.filters, kernelSize: k, inChannels: c, ...opts, ...hooks.config };
    return { hooks, opts, config, shape: [g.outH, g.outW, o.filters] };
  }

  /** Input shape [H, W, C] (without batch). Kernel OHWI [filters, k, k, C]. */
  constructor(
    ctx: Context,
    inputShape: readonly number[],
    o: QuantConv2DOptions,
    rng: Random,
    name = "QuantConv2D",
  ) {
    const r = QuantConv2D.resolve(inputShape, o, name);
    super(ctx, [o.filters, o.kernelSize, o.kernelSize, inputShape[2]!], r.hooks, rng);
    this.opts = r.opts;
    this.config = r.config;
  }

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    const [h, w, c] = input as [number, number, number];
    const k = this.config.kernelSize as number;
    const g = convGeometry(1, h, w, c, k, k, this.opts.stride, this.opts.stride, this.opts.padding);
    return [g.outH, g.outW, this.config.filters as number];
  }

  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    const xq = this.quantizeInput(x, mode);
    const wq = this.quantizedKernel(mode);
    const conv = { stride: this.opts.stride, padding: this.opts.padding, padValue: this.opts.padValue };
    let y = this.hooks.binaryProduct
      ? binaryConv2d(xq, wq, { ...conv, xnor: mode.xnorForward ?? true })
      : conv2d(xq, wq, conv);
    if (this.hooks.scaling === "xnor") {
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const k = this.config.kernelSize as number;
      const g = convGeometry(n, h, w, c, k, k, this.opts.stride, this.opts.stride, this.opts.padding);
      y = scaleRows(y, xnorActivationScale(x.data, g));
    }
    return this.bias ? add(y, this.bias) : y;
  }
}
