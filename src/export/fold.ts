/**
 * Folding what follows a binary layer into its output transform (docs/architecture.md).
 *
 * A binary layer computes, per output channel j, an integer x = dot in [-K, K]. The training
 * graph then applies, in float32, in this order (each step rounded to float32, missing
 * steps skipped):
 *
 *   z = x * alpha[j]                     XNOR-Net weight scale (optional)
 *   z = z + bias[j]                      layer bias (optional)
 *   h = (z - mean[j]) * invStd[j]        eval-mode batch norm, invStd = invStdOf(var, eps)
 *   y = h * gamma[j] + beta[j]           (gamma, beta optional: Larq's scale=False)
 *
 * (ops/batchNorm.ts: y = ((x - mean) * invStd) * gamma + beta, invStd = fround(1 /
 * sqrt(var + eps)) computed in float64 and rounded once.) If the next layer binarizes,
 * only sign(y) matters: bit = y >= 0 (sign(0) = +1).
 *
 * Every step is a monotone function of its input (float rounding preserves order), so the
 * bit is a monotone step function of x: constant, or switching once at some integer T.
 * Rather than solving for T analytically and fighting rounding, we evaluate the float32
 * graph itself and bisect over the integers in [-K, K] (all of them, not only those of
 * K's parity: with zero padding the in-bounds count K' < K may have either parity):
 *
 *   increasing (y(K) >= 0 > y(-K)):  bit = x >= T,             flip 0
 *   decreasing (y(-K) >= 0 > y(K)):  bit = NOT(x >= T),        flip 1
 *   constant c:                      T = ALWAYS_ON (-2^31),    flip = 1 - c
 *
 * which is the kernels' threshold transform: bit = (x >= T) XOR flip.
 *
 * Caveat: with 'xnor-weights' the training graph multiplies alpha into the weights before
 * its float GEMM, so its pre-activation is a float sum of +-alpha terms whose rounding
 * depends on accumulation order; here it is x * alpha rounded once. The two agree except
 * where the training graph's y is within a few ulp of 0.
 */

import type { BatchNormLayer, F32Tensor, OutputTransform } from "../engine/model.js";
import { ALWAYS_ON } from "../kernels/binaryTypes.js";
import { packFlags } from "../kernels/bits.js";
import { invStdOf } from "../ops/batchNorm.js";

const f = Math.fround;

/** Per-output-channel parameters between a binary layer's dot and its next quantizer. */
export interface ChannelParams {
  /** XNOR-Net per-output-channel weight scale; absent: no multiply. */
  alpha?: ArrayLike<number>;
  /** Layer bias; absent: no add. */
  bias?: ArrayLike<number>;
  /** The following eval-mode batch norm; absent: y = z. */
  batchNorm?: {
    runningMean: ArrayLike<number>;
    runningVar: ArrayLike<number>;
    eps: number;
    gamma?: ArrayLike<number>;
    beta?: ArrayLike<number>;
  };
}

/** One channel's parameters, already rounded to float32 (invStd as the training graph computes it). */
interface Channel {
  alpha?: number;
  bias?: number;
  mean?: number;
  invStd?: number;
  gamma?: number;
  beta?: number;
}

function channel(p: ChannelParams, j: number): Channel {
  const bn = p.batchNorm;
  const c: Channel = {};
  if (p.alpha) c.alpha = f(p.alpha[j]!);
  if (p.bias) c.bias = f(p.bias[j]!);
  if (bn) {
    c.mean = f(bn.runningMean[j]!);
    c.invStd = invStdOf(bn.runningVar[j]!, bn.eps);
    if (bn.gamma) c.gamma = f(bn.gamma[j]!);
    if (bn.beta) c.beta = f(bn.beta[j]!);
  }
  for (const [key, v] of Object.entries(c)) {
    if (!Number.isFinite(v)) throw new RangeError(`fold: channel ${j}: ${key} is ${v}, not a finite float32`);
  }
  return c;
}

/** The float32 training-graph value y for integer x (the formula in the module doc). */
function evaluate(c: Channel, x: number): number {
  let z = x;
  if (c.alpha !== undefined) z = f(z * c.alpha);
  if (c.bias !== undefined) z = f(z + c.bias);
  if (c.mean === undefined) return z;
  let y = f(f(z - c.mean) * c.invStd!);
  if (c.gamma !== undefined) y = f(y * c.gamma);
  if (c.beta !== undefined) y = f(y + c.beta);
  return y;
}

/**
 * The float32 value y the training graph computes for channel j from dot value x
 * (the oracle the folds are tested against, and the affine fold's definition).
 */
export function channelValue(p: ChannelParams, j: number, x: number): number {
  return evaluate(channel(p, j), x);
}

/**
 * Threshold and flip for a monotone bit function over the integers in [-k, k]:
 * bit(x) = (x >= threshold) XOR flip for every such x.
 *
 *     thresholdOf(4, (x) => x >= 1); // { threshold: 1, flip: false }
 *     thresholdOf(4, (x) => x <= 1); // { threshold: 2, flip: true }
 */
export function thresholdOf(k: number, bit: (x: number) => boolean): { threshold: number; flip: boolean } {
  const low = bit(-k);
  const high = bit(k);
  if (low === high) return { threshold: ALWAYS_ON, flip: !high };
  // Invariant: bit(lo) = low, bit(hi) = high; the first x with bit(x) = high lies in (lo, hi].
  let lo = -k;
  let hi = k;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (bit(mid) === high) hi = mid;
    else lo = mid;
  }
  return { threshold: hi, flip: !high };
}

/** Per-channel thresholds (int32) and flips (0/1) of the sign of the folded graph. */
export interface ThresholdFold {
  thresholds: Int32Array;
  flip: Uint8Array;
}

/**
 * Folds alpha, bias and batch norm into a threshold test on the dot value x in [-k, k]:
 * bit_j = (x >= thresholds[j]) XOR flip[j] equals (y_j(x) >= 0) of the float32 graph for
 * every integer x in [-k, k].
 *
 *     foldThresholds(9, 2, { batchNorm: { runningMean: [1, 1], runningVar: [1, 1], eps: 0, gamma: [1, -1] } });
 *     // thresholds [1, 2], flip [0, 1]: channel 0 is x >= 1, channel 1 is x <= 1
 */
export function foldThresholds(k: number, channels: number, p: ChannelParams): ThresholdFold {
  if (!Number.isInteger(k) || k < 1 || k >= 2 ** 24) {
    throw new RangeError(`foldThresholds: k must be an integer in [1, 2^24), got ${k}`);
  }
  const thresholds = new Int32Array(channels);
  const flip = new Uint8Array(channels);
  for (let j = 0; j < channels; j++) {
    const c = channel(p, j);
    // Monotonicity needs every intermediate finite; they are at both ends, hence everywhere.
    for (const x of [-k, k]) {
      if (!Number.isFinite(evaluate(c, x))) {
        throw new RangeError(`foldThresholds: channel ${j}: the float32 graph overflows at x = ${x}`);
      }
    }
    const t = thresholdOf(k, (x) => evaluate(c, x) >= 0);
    thresholds[j] = t.threshold;
    flip[j] = t.flip ? 1 : 0;
  }
  return { thresholds, flip };
}

/** The engine's threshold output transform for a fold (flip packed as bits [channels]). */
export function thresholdTransform(fold: ThresholdFold): OutputTransform {
  const channels = fold.thresholds.length;
  return {
    kind: "threshold",
    thresholds: { dtype: "i32", shape: [channels], data: fold.thresholds },
    flip: { dtype: "bits", shape: [channels], data: packFlags(fold.flip, 1, channels) },
  };
}

/**
 * Folds alpha, bias and batch norm into one multiply-add for a layer whose output stays
 * float (the last layer): y ~ fround(fround(x * scale[j]) + shift[j]) with, in float64,
 *   s = invStd * gamma,  scale = alpha * s,  shift = (bias - mean) * s + beta,
 * each rounded once to float32. This is not bit-exact against the float graph (different
 * rounding); its error is a few float32 ulp of the larger of |x * scale| and |shift|.
 * For bit-exactness use the affine transform {alpha, bias} followed by an engine
 * batchnorm layer instead (exactAffine).
 */
export function foldAffine(channels: number, p: ChannelParams): { scale: Float32Array; bias: Float32Array } {
  const scale = new Float32Array(channels);
  const bias = new Float32Array(channels);
  for (let j = 0; j < channels; j++) {
    const c = channel(p, j);
    const alpha = c.alpha ?? 1;
    const b = c.bias ?? 0;
    if (c.mean === undefined) {
      scale[j] = alpha;
      bias[j] = b;
      continue;
    }
    const s = c.invStd! * (c.gamma ?? 1);
    scale[j] = alpha * s;
    bias[j] = (b - c.mean) * s + (c.beta ?? 0);
  }
  return { scale, bias };
}

/**
 * The part of the graph the affine transform reproduces exactly: z = fround(fround(x *
 * alpha) + bias) (alpha 1 and bias 0 when absent: both are exact no-ops on integer x).
 * An engine batchnorm layer with the same mean, invStd, gamma, beta then completes y
 * bit-exactly.
 */
export function exactAffine(channels: number, p: ChannelParams): { scale: Float32Array; bias: Float32Array } {
  const scale = new Float32Array(channels).fill(1);
  const bias = new Float32Array(channels);
  if (p.alpha) scale.set(Array.from({ length: channels }, (_, j) => p.alpha![j]!));
  if (p.bias) bias.set(Array.from({ length: channels }, (_, j) => p.bias![j]!));
  return { scale, bias };
}

/** The engine's affine output transform y = fround(fround(x * scale) + bias). */
export function affineTransform(t: { scale: Float32Array; bias: Float32Array }): OutputTransform {
  const f32 = (data: Float32Array): F32Tensor => ({ dtype: "f32", shape: [data.length], data });
  return { kind: "affine", scale: f32(t.scale), bias: f32(t.bias) };
}

/**
 * The tensors of an engine batchnorm layer reproducing the training graph's eval-mode batch
 * norm exactly: invStd as invStdOf computes it, gamma 1 and beta 0 where absent (exact
 * no-ops: fround(h * 1) = h, h + 0 = h).
 */
export function batchNormTensors(
  channels: number,
  bn: NonNullable<ChannelParams["batchNorm"]>,
): Pick<BatchNormLayer, "mean" | "invStd" | "gamma" | "beta"> {
  const f32 = (value: (j: number) => number): F32Tensor => ({
    dtype: "f32",
    shape: [channels],
    data: Float32Array.from({ length: channels }, (_, j) => value(j)),
  });
  return {
    mean: f32((j) => bn.runningMean[j]!),
    invStd: f32((j) => invStdOf(bn.runningVar[j]!, bn.eps)),
    gamma: f32((j) => (bn.gamma ? bn.gamma[j]! : 1)),
    beta: f32((j) => (bn.beta ? bn.beta[j]! : 0)),
  };
}
