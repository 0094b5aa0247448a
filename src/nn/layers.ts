/**
 * The non-quantized layers of the model builders: batch norm, max pooling, flatten,
 * dropout and float activations. Each wraps one op of src/ops and owns its state.
 */
import type { Padding } from "../kernels/geometry.js";
import { batchNorm, dropout, flatten, hardtanh, maxPool2d, relu } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ForwardMode, Layer, LayerParam } from "./layer.js";

export interface BatchNormOptions {
  /** Learn beta (default true). */
  center?: boolean;
  /** Learn gamma (default true; Larq's tutorial CNN uses scale = false). */
  scale?: boolean;
  /** Weight of the old running value (Keras convention; PyTorch's 0.01 is 0.99 here). Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  eps?: number;
}

/** Batch norm over the last axis, with running statistics (mean 0, variance 1 at start). */
export class BatchNorm implements Layer {
  readonly type = "batch_norm";
  readonly config: Record<string, unknown>;
  private readonly gamma: Tensor | null;
  private readonly beta: Tensor | null;
  private readonly runningMean: Tensor;
  private readonly runningVar: Tensor;

  constructor(ctx: Context, inputShape: readonly number[], o: BatchNormOptions = {}) {
    const c = inputShape[inputShape.length - 1]!;
    const center = o.center ?? true;
    const scale = o.scale ?? true;
    this.config = { channels: c, center, scale, momentum: o.momentum ?? 0.99, eps: o.eps ?? 1e-3 };
    this.gamma = scale ? ctx.parameter(ctx.ones([c])) : null;
    this.beta = center ? ctx.parameter(ctx.zeros([c])) : null;
    this.runningMean = ctx.keep(ctx.zeros([c]));
    this.runningVar = ctx.keep(ctx.ones([c]));
  }

  outputShape(input: readonly number[]): number[] {
    return [...input];
  }

  forward(x: Tensor, mode: ForwardMode): Tensor {
    return batchNorm(x, {
      gamma: this.gamma,
      beta: this.beta,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: mode.training,
      momentum: this.config.momentum as number,
      eps: this.config.eps as number,
    });
  }

  params(): LayerParam[] {
    const p: LayerParam[] = [];
    if (this.gamma) p.push({ name: "gamma", tensor: this.gamma, clip: 0, binary: false });
    if (this.beta) p.push({ name: "beta", tensor: this.beta, clip: 0, binary: false });
    return p;
  }

  buffers() {
    return [
      { name: "runningMean", tensor: this.runningMean },
      { name: "runningVar", tensor: this.runningVar },
    ];
  }

  dispose(): void {
    for (const t of [this.gamma, this.beta, this.runningMean, this.runningVar]) t?.dispose();
  }
}

/** A layer without parameters: one op applied in forward. */
export abstract class Stateless implements Layer {
  abstract readonly type: string;
  abstract readonly config: Record<string, unknown>;
  abstract outputShape(input: readonly number[]): number[];
  abstract forward(x: Tensor, mode: ForwardMode): Tensor;
  params(): LayerParam[] {
    return [];
  }
  buffers() {
    return [];
  }
  dispose(): void {}
}

/**
 * A pooling window over [H, W, C]: size, stride and padding, and the output shape they give
 * (MaxPool and AvgPool differ only in what they compute over the window).
 */
export abstract class Pool2D extends Stateless {
  readonly config: { size: number; stride: number; padding: Padding };
  constructor(size = 2, stride = size, padding: Padding = "valid") {
    super();
    this.config = { size, stride, padding };
  }
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    const [h, w, c] = input as [number, number, number];
    const { size, stride } = this.config;
    const out = (n: number) =>
      this.config.padding === "same" ? Math.ceil(n / stride) : Math.floor((n - size) / stride) + 1;
    return [out(h), out(w), c];
  }
}

/** The max over each window. */
export class MaxPool extends Pool2D {
  readonly type = "max_pool";
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.config);
  }
}

/** [H, W, C] -> [H * W * C] (NHWC order). */
export class Flatten extends Stateless {
  readonly type = "flatten";
  readonly config = {};
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [input.reduce((a, b) => a * b, 1)];
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return flatten(x);
  }
}

/**
 * Drops each value with probability `rate` in training mode (the rest scaled by 1 / (1 -
 * rate)); the identity in eval mode.
 */
export class Dropout extends Stateless {
  readonly type = "dropout";
  readonly config: { rate: number };
  constructor(rate: number) {
    super();
    this.config = { rate };
  }
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    return dropout(x, this.config.rate, { training: mode.training, rng: mode.rng });
  }
}

/** Float activations for the float twins: relu or hardtanh. */
export class Activation extends Stateless {
  readonly type = "activation";
  readonly config: { fn: "relu" | "hardtanh" };
  constructor(fn: "relu" | "hardtanh") {
    super();
    this.config = { fn };
  }
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor): Tensor {
    return this.config.fn === "relu" ? relu(x) : hardtanh(x);
  }
}
