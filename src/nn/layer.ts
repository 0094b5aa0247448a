/**
 * The layer contract. A layer owns its parameters (trainable) and buffers (batch-norm
 * running statistics), names them relative to itself ("kernel", "runningMean"); the model
 * prefixes the layer's name ("conv1.kernel") to make the stable checkpoint names.
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Random } from "../util/random.js";

/** How a forward pass runs: training mode (batch statistics, dropout, stochastic quantizers). */
export interface ForwardMode {
  training: boolean;
  /** The seeded RNG for dropout and stochastic quantizers. */
  rng: Random;
  /**
   * Binary layers (binary input and weights) compute their forward pass on the packed
   * XOR-popcount kernels and their gradients on the sign GEMM (default true); false
   * computes the identical forward values, and sgemm gradients, in float.
   */
  xnorForward?: boolean;
}

/** A parameter a layer owns, with how the optimizer treats it. */
export interface LayerParam {
  /** Name relative to the layer: "kernel", "bias", "gamma", "beta". */
  name: string;
  tensor: Tensor;
  /** Clamp to [-clip, clip] after each optimizer step (binary latent weights); 0 = none. */
  clip: number;
  /** Binarized in the forward pass (counted as binary parameters and in the flip ratio). */
  binary: boolean;
}

/**
 * What every layer implements (the classes in src/nn/*Layers.ts); `Model` runs them in the
 * spec's order.
 */
export interface Layer {
  /** Layer type, e.g. "quant_dense", "batch_norm" (stored in checkpoints). */
  readonly type: string;
  /** The layer's JSON-serializable settings (what the exporter and summary read). */
  readonly config: Record<string, unknown>;
  /** Output shape for an input shape (without the batch dimension). */
  outputShape(input: readonly number[]): number[];
  /** The forward pass on a batch `x` (NHWC or [N, features]); records the tape for backward(). */
  forward(x: Tensor, mode: ForwardMode): Tensor;
  /** Layers that read several tensors (add, concatenate): the forward pass over all of them. */
  forwardAll?(xs: readonly Tensor[], mode: ForwardMode): Tensor;
  /** The trainable parameters, named relative to the layer ("kernel", "gamma"). */
  params(): LayerParam[];
  /** Non-trainable state tensors saved in checkpoints ("runningMean", "runningVar"). */
  buffers(): { name: string; tensor: Tensor }[];
  /** Frees the layer's parameters and buffers. */
  dispose(): void;
}
