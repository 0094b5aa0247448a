/**
 * Per-channel layers of the residual BNNs, and their pools:
 * - `Shift`: y = x + b, b [C] learned (zero at start). ReActNet's RSign is a shift before
 *   the sign (the next binary layer's input quantizer); its RPReLU is shift, PReLU, shift.
 * - `PReLU`: y = x for x >= 0, alpha * x otherwise, alpha [C] learned (0.25 at start, as
 *   PyTorch's nn.PReLU; Keras starts at 0).
 * - `AvgPool`: mean over each window (TensorFlow's 'valid'/'same'; padding never counts),
 *   Bi-Real Net's downsampling shortcut.
 * - `GlobalAvgPool`: [H, W, C] -> [C], the mean over the image, before the classifier.
 */
import { add, avgPool2d, globalAvgPool2d, prelu } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ForwardMode, Layer, LayerParam } from "./layer.js";
import { Pool2D, Stateless } from "./layers.js";

/** A layer with one learned vector over the last axis. */
abstract class PerChannel implements Layer {
  abstract readonly type: string;
  readonly config: { channels: number; init: number };
  protected readonly weight: Tensor;

  constructor(
    ctx: Context,
    input: readonly number[],
    config: Record<string, unknown>,
    readonly paramName: string,
    defaultInit: number,
  ) {
    const channels = input[input.length - 1]!;
    this.config = { channels, init: (config.init as number | undefined) ?? defaultInit };
    this.weight = ctx.parameter(ctx.full([channels], this.config.init));
  }

  /** Resolves the config ({ channels, init }) of a per-channel layer over `input`. */
  static resolveChannels(
    input: readonly number[],
    config: Record<string, unknown>,
    where: string,
    defaultInit: number,
  ) {
    for (const k of Object.keys(config)) {
      if (k !== "channels" && k !== "init")
        throw new RangeError(`${where}: unknown option '${k}'; its options are channels, init`);
    }
    const channels = input[input.length - 1]!;
    if (config.channels !== undefined && config.channels !== channels) {
      throw new Error(
        `${where}: its config says ${String(config.channels)} channels, its input has shape [${input}]`,
      );
    }
    const init = config.init ?? defaultInit;
    if (typeof init !== "number" || !Number.isFinite(init))
      throw new RangeError(`${where}: init must be a number, got ${String(init)}`);
    return { config: { channels, init }, shape: [...input] };
  }

  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  abstract forward(x: Tensor, mode: ForwardMode): Tensor;
  params(): LayerParam[] {
    return [{ name: this.paramName, tensor: this.weight, clip: 0, binary: false }];
  }
  buffers() {
    return [];
  }
  dispose(): void {
    this.weight.dispose();
  }
}

/**
 * y = x + b with a learned per-channel bias b (zero at start); ReActNet's RSign is a shift
 * before the sign.
 */
export class Shift extends PerChannel {
  readonly type = "shift";
  /** The full config and output shape for an input shape (the spec resolver calls it). */
  static resolve(input: readonly number[], config: Record<string, unknown>, where: string) {
    return PerChannel.resolveChannels(input, config, where, 0);
  }
  constructor(ctx: Context, input: readonly number[], config: Record<string, unknown>) {
    super(ctx, input, config, "bias", 0);
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return add(x, this.weight);
  }
}

/** y = x for x >= 0, alpha * x otherwise, with a learned per-channel alpha (0.25 at start). */
export class PReLU extends PerChannel {
  readonly type = "prelu";
  /** The full config and output shape for an input shape (the spec resolver calls it). */
  static resolve(input: readonly number[], config: Record<string, unknown>, where: string) {
    return PerChannel.resolveChannels(input, config, where, 0.25);
  }
  constructor(ctx: Context, input: readonly number[], config: Record<string, unknown>) {
    super(ctx, input, config, "alpha", 0.25);
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}

/** The mean over each window (padding never counts), Bi-Real Net's downsampling shortcut. */
export class AvgPool extends Pool2D {
  readonly type = "avg_pool";
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.config);
  }
}

/** [H, W, C] -> [C]: the mean over the image, before the classifier. */
export class GlobalAvgPool extends Stateless {
  readonly type = "global_avg_pool";
  readonly config = {};
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [input[input.length - 1]!];
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}
