/**
 * Quantizers: small named objects pairing a forward function with a pseudo-gradient, as in
 * Larq. A quantizer works on plain float32 arrays (the math, testable against closed
 * forms); `quantize()` in ./op.ts lifts it onto autograd tensors.
 *
 * Layers, summaries and optimizers read `bits` (1 = binary, 32 = full precision), never
 * the class of a quantizer.
 *
 *     const q = getQuantizer("ste_sign");
 *     const y = new Float32Array(3);
 *     q.forward(new Float32Array([-0.5, 0, 2]), y, { channels: 1, training: true }); // [-1, 1, 1]
 */
import type { Random } from "../util/random.js";

/** What a quantizer may need besides its input. */
export interface QuantContext {
  /** Leading-axis size: the number of output channels of a kernel (per-channel scales). */
  channels: number;
  /** Training mode: stochastic quantizers sample only then. */
  training: boolean;
  /** The seeded RNG stochastic quantizers draw from (required for them in training). */
  rng?: Random;
}

/**
 * A quantizer: its forward q(x), its pseudo-gradient for training, and its precision in bits
 * (src/quant/quantizers.ts lists them with their papers).
 */
export interface Quantizer {
  /** Stable name, stored in checkpoints and model files. */
  readonly name: string;
  /** Output precision: 1 for binary, k for k-bit, 32 for full precision. */
  readonly bits: number;
  /** out = q(x). `out` may not alias `x` (backward needs x). */
  forward(x: Float32Array, out: Float32Array, ctx: QuantContext): void;
  /** dx += pseudo-gradient of q at x, times dy. */
  backward(x: Float32Array, dy: Float32Array, dx: Float32Array, ctx: QuantContext): void;
  /** Options that rebuild it with `getQuantizer` (e.g. {k: 4}); absent when none. */
  readonly options?: Record<string, number>;
  /**
   * A float kernel computing exactly this forward (`unary`) and pseudo-gradient
   * (`unaryBackward`, with `kernelClip`), which the autograd op then uses instead of the
   * array code.
   */
  readonly kernelOp?: "sign" | "approx_sign";
  /** The straight-through estimator's clip value that `kernelOp` "sign" takes (default 1). */
  readonly kernelClip?: number;
}

/** sign(x) = +1 for x >= 0, -1 for x < 0 (sign(0) = +1; never 0). */
export function signValue(x: number): number {
  return x >= 0 ? 1 : -1;
}

function signForward(x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) out[i] = x[i]! >= 0 ? 1 : -1;
}

/**
 * dx += dy * 1{|x| <= clip}: the straight-through estimator cancelled beyond the clip.
 * `clip` must be a float32 value: x is float32, so the comparison is the float32 one.
 */
function steBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, clip = 1): void {
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) <= clip) dx[i]! += dy[i]!;
}

/**
 * `ste_sign` (Hubara et al. 2016, "Binarized Neural Networks"; Larq `SteSign`) with the
 * default clip value 1. Forward: q(x) = sign(x), sign(0) = +1. Backward (STE):
 * dq/dx = 1{|x| <= 1}. `steSign(clipValue)` widens or narrows the clip.
 */
export const sign: Quantizer = {
  name: "ste_sign",
  bits: 1,
  kernelOp: "sign",
  forward: (x, out) => signForward(x, out),
  backward: (x, dy, dx) => steBackward(x, dy, dx),
};

/**
 * `ste_sign` with clip value c (Larq `SteSign(clip_value=c)`; QuickNet, Bannink et al.
 * 2021, trains its activations with c = 1.25). Forward: q(x) = sign(x), sign(0) = +1.
 * Backward (STE): dq/dx = 1{|x| <= c}, with c rounded to float32 as TensorFlow compares it.
 * c = 1 is `sign` itself (its spec carries no options); other values store {clipValue: c}.
 *
 *     const q = steSign(1.25); // getQuantizer({ name: "ste_sign", options: { clipValue: 1.25 } })
 */
export function steSign(clipValue = 1): Quantizer {
  if (clipValue === 1) return sign;
  if (!Number.isFinite(clipValue) || clipValue <= 0) {
    throw new RangeError(`ste_sign: clipValue must be a positive number, got ${clipValue}`);
  }
  const clip = Math.fround(clipValue);
  return {
    name: "ste_sign",
    bits: 1,
    options: { clipValue },
    kernelOp: "sign",
    kernelClip: clip,
    forward: (x, out) => signForward(x, out),
    backward: (x, dy, dx) => steBackward(x, dy, dx, clip),
  };
}

/**
 * `stochastic_sign` (Hubara et al. 2016, stochastic binarization).
 * Forward in training: q(x) = +1 with probability p = hardSigmoid(x) = clip((x + 1) / 2, 0, 1),
 * else -1, drawn from the seeded `ctx.rng`; in eval: sign(x). Backward: STE, 1{|x| <= 1}.
 */
export const stochasticSign: Quantizer = {
  name: "stochastic_sign",
  bits: 1,
  forward(x, out, ctx) {
    if (!ctx.training) return signForward(x, out);
    if (!ctx.rng) throw new Error("stochastic_sign: training mode needs a seeded rng in the context");
    for (let i = 0; i < x.length; i++) {
      const p = Math.min(1, Math.max(0, (x[i]! + 1) / 2));
      out[i] = ctx.rng.next() < p ? 1 : -1;
    }
  },
  backward: (x, dy, dx) => steBackward(x, dy, dx),
};

/**
 * `approx_sign` (Liu et al. 2018, "Bi-Real Net"). Forward: sign(x).
 * Backward: the derivative of the piecewise-quadratic approximation of sign,
 * dq/dx = max(0, 2 - 2|x|).
 */
export const approxSign: Quantizer = {
  name: "approx_sign",
  bits: 1,
  kernelOp: "approx_sign",
  forward: (x, out) => signForward(x, out),
  backward(x, dy, dx) {
    for (let i = 0; i < x.length; i++) {
      const d = 2 - 2 * Math.abs(x[i]!);
      if (d > 0) dx[i]! += dy[i]! * d;
    }
  },
};

/** alpha[o] = mean |W[o, :]| over the n = size / channels weights of output channel o. */
export function channelMeanAbs(w: Float32Array, channels: number): Float32Array {
  if (channels < 1 || w.length % channels !== 0) {
    throw new RangeError(`channelMeanAbs: ${w.length} weights do not split into ${channels} channels`);
  }
  const n = w.length / channels;
  const alpha = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    let s = 0;
    for (let i = o * n; i < (o + 1) * n; i++) s += Math.abs(w[i]!);
    alpha[o] = s / n;
  }
  return alpha;
}

/**
 * `magnitude_aware_sign` (Rastegari et al. 2016, "XNOR-Net", binary-weight approximation;
 * Larq `MagnitudeAwareSign`). The kernel's leading axis is the output channel (OHWI / [out, in]).
 * Forward: W~ = alpha * sign(W), alpha[o] = mean |W[o, :]| (n weights per channel).
 * Backward (XNOR-Net, eq. 7): dC/dW = dC/dW~ * (1/n + alpha * 1{|W| <= 1}).
 */
export const magnitudeAwareSign: Quantizer = {
  name: "magnitude_aware_sign",
  bits: 1,
  forward(x, out, ctx) {
    const alpha = channelMeanAbs(x, ctx.channels);
    const n = x.length / ctx.channels;
    for (let i = 0; i < x.length; i++) out[i] = alpha[Math.floor(i / n)]! * (x[i]! >= 0 ? 1 : -1);
  },
  backward(x, dy, dx, ctx) {
    const alpha = channelMeanAbs(x, ctx.channels);
    const n = x.length / ctx.channels;
    for (let i = 0; i < x.length; i++) {
      const inClip = Math.abs(x[i]!) <= 1 ? alpha[Math.floor(i / n)]! : 0;
      dx[i]! += dy[i]! * (1 / n + inClip);
    }
  },
};

/**
 * `dorefa` with k bits (Zhou et al. 2016, "DoReFa-Net", quantize_k), made symmetric on
 * [-1, 1] so that k = 1 equals sign: with u = (clip(x, -1, 1) + 1) / 2 and L = 2^k - 1,
 * q(x) = 2 * round(u * L) / L - 1 (round half up, so q(0) = +1 at k = 1).
 * Backward: STE, dq/dx = 1{|x| <= 1}. k >= 32 is the identity (full precision).
 */
export function dorefa(k: number): Quantizer {
  if (!Number.isInteger(k) || k < 1 || k > 32) throw new RangeError(`dorefa: k must be 1..32, got ${k}`);
  if (k === 32) {
    return {
      name: "dorefa",
      bits: 32,
      options: { k },
      forward: (x, out) => out.set(x),
      backward(x, dy, dx) {
        for (let i = 0; i < x.length; i++) dx[i]! += dy[i]!;
      },
    };
  }
  const levels = 2 ** k - 1;
  return {
    name: "dorefa",
    bits: k,
    options: { k },
    forward(x, out) {
      for (let i = 0; i < x.length; i++) {
        const u = (Math.min(1, Math.max(-1, x[i]!)) + 1) / 2;
        out[i] = (2 * Math.floor(u * levels + 0.5)) / levels - 1;
      }
    },
    backward: (x, dy, dx) => steBackward(x, dy, dx),
  };
}

/** A quantizer's serializable description: its name and options. */
export interface QuantizerSpec {
  name: string;
  options?: Record<string, number>;
}

const named: Record<string, Quantizer> = {
  [sign.name]: sign,
  [stochasticSign.name]: stochasticSign,
  [approxSign.name]: approxSign,
  [magnitudeAwareSign.name]: magnitudeAwareSign,
};

/** The names `getQuantizer` accepts. */
export const quantizerNames = [...Object.keys(named), "dorefa"];

/**
 * Looks a quantizer up by name ("sign" is an alias of "ste_sign"); ste_sign takes
 * {clipValue} (default 1), dorefa takes {k}.
 */
export function getQuantizer(spec: string | QuantizerSpec): Quantizer {
  const { name, options } = typeof spec === "string" ? { name: spec, options: undefined } : spec;
  if (name === "dorefa") return dorefa(options?.k ?? 1);
  if (name === "ste_sign" || name === "sign") return steSign(options?.clipValue ?? 1);
  const q = named[name];
  if (!q) throw new RangeError(`unknown quantizer '${name}'; choose one of: ${quantizerNames.join(", ")}`);
  return q;
}

/** The spec that rebuilds `q` with `getQuantizer`. */
export function quantizerSpec(q: Quantizer): QuantizerSpec {
  return q.options ? { name: q.name, options: { ...q.options } } : { name: q.name };
}
