import { beforeAll, describe, expect, it } from "vitest";
import {
  batchNormTensors,
  type ChannelParams,
  exactAffine,
  foldAffine,
  foldThresholds,
  thresholdOf,
  thresholdTransform,
} from "../../src/export/fold.js";
import { ALWAYS_ON } from "../../src/kernels/binaryTypes.js";
import { add, batchNorm, invStdOf, mul } from "../../src/ops/index.js";
import { type Context, createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

const f = Math.fround;
let ctx: Context;
beforeAll(async () => {
  ctx = await createContext("ref");
});

/**
 * The oracle: the training graph's own eval-mode ops on x = every integer in [-k, k],
 * y = batchNorm(x * alpha + bias), returned as rows [2k + 1, channels].
 */
function trainingGraph(k: number, channels: number, p: ChannelParams): Float32Array {
  return ctx.tidy(() => {
    const xs = new Float32Array((2 * k + 1) * channels);
    for (let r = 0; r <= 2 * k; r++) xs.fill(r - k, r * channels, (r + 1) * channels);
    let y = ctx.fromArray(xs, [2 * k + 1, channels]);
    if (p.alpha) y = mul(y, ctx.fromArray(p.alpha));
    if (p.bias) y = add(y, ctx.fromArray(p.bias));
    const bn = p.batchNorm;
    if (bn) {
      y = batchNorm(y, {
        gamma: bn.gamma ? ctx.fromArray(bn.gamma) : null,
        beta: bn.beta ? ctx.fromArray(bn.beta) : null,
        runningMean: ctx.fromArray(bn.runningMean),
        runningVar: ctx.fromArray(bn.runningVar),
        eps: bn.eps,
        training: false,
      });
    }
    return y.toArray();
  });
}

/** First (x, channel) where the folded threshold test and the float graph's sign disagree. */
function firstMismatch(k: number, channels: number, p: ChannelParams): string | null {
  const { thresholds, flip } = foldThresholds(k, channels, p);
  const y = trainingGraph(k, channels, p);
  for (let r = 0; r <= 2 * k; r++) {
    const x = r - k;
    for (let j = 0; j < channels; j++) {
      const folded = (x >= thresholds[j]! ? 1 : 0) ^ flip[j]!;
      const graph = y[r * channels + j]! >= 0 ? 1 : 0;
      if (folded !== graph)
        return `k=${k} channel ${j} x=${x}: folded ${folded}, graph ${graph} (y=${y[r * channels + j]})`;
    }
  }
  return null;
}

/** Random BN parameters with the hard cases mixed in: see the comments per channel class. */
function randomParams(
  rng: Random,
  k: number,
  channels: number,
  parts: { alpha: boolean; bias: boolean; gamma: boolean; beta: boolean },
): ChannelParams {
  const alpha: number[] = [];
  const bias: number[] = [];
  const mean: number[] = [];
  const variance: number[] = [];
  const gamma: number[] = [];
  const beta: number[] = [];
  const eps = rng.next() < 0.5 ? 1e-3 : 1e-5;
  for (let j = 0; j < channels; j++) {
    const kind = j % 8;
    const a = kind === 1 ? 0 : f(rng.uniform(0.001, 2) * (rng.next() < 0.1 ? -1 : 1)); // alpha = 0: constant
    const g = kind === 2 ? 0 : kind === 3 ? -f(rng.uniform(0.01, 3)) : f(rng.normal()); // gamma = 0, < 0
    const v = kind === 4 ? f(Math.exp(rng.uniform(-30, 30))) : kind === 5 ? 0 : f(rng.uniform(0, 4)); // huge/tiny/zero var
    // Means inside the reachable range (so the threshold falls inside), sometimes outside.
    const m =
      kind === 6
        ? f(rng.uniform(2, 3) * k * (rng.next() < 0.5 ? -1 : 1))
        : f(rng.uniform(-k, k) * Math.abs(a || 1));
    alpha.push(a);
    bias.push(f(rng.normal() * 3));
    mean.push(m);
    variance.push(v);
    gamma.push(g);
    beta.push(f(rng.normal() * (kind === 7 ? 0 : 2)));
  }
  const p: ChannelParams = {
    batchNorm: {
      runningMean: mean,
      runningVar: variance,
      eps,
      ...(parts.gamma ? { gamma } : {}),
      ...(parts.beta ? { beta } : {}),
    },
  };
  if (parts.alpha) p.alpha = alpha;
  if (parts.bias) p.bias = bias;
  return p;
}

/**
 * Exact ties: channels whose y is exactly 0 (or the smallest step away) at an integer x0
 * inside the range, so sign(0) = +1 decides the threshold.
 */
function tieParams(rng: Random, k: number, channels: number): ChannelParams {
  const eps = 1e-3;
  const mean: number[] = [];
  const variance: number[] = [];
  const gamma: number[] = [];
  const beta: number[] = [];
  const alpha: number[] = [];
  for (let j = 0; j < channels; j++) {
    const x0 = rng.int(2 * k + 1) - k;
    const a = [1, 0.5, 0.25, f(rng.uniform(0.1, 1))][j % 4]!;
    const v = f(rng.uniform(0.1, 4));
    const g = f(rng.normal()) || 1;
    const z0 = f(x0 * a);
    alpha.push(a);
    variance.push(v);
    gamma.push(g);
    if (j % 2 === 0) {
      // y(x0) = 0 * gamma + 0: the mean sits exactly on a reachable value.
      mean.push(z0);
      beta.push(0);
    } else {
      // beta cancels gamma * h(x0) exactly: y(x0) = fround(t - t) = 0.
      const m = f(rng.uniform(-k, k) * a);
      mean.push(m);
      beta.push(-f(f(f(z0 - m) * invStdOf(v, eps)) * g));
    }
  }
  return { alpha, batchNorm: { runningMean: mean, runningVar: variance, eps, gamma, beta } };
}

describe("foldThresholds equals the float32 training graph for every integer x in [-K, K]", () => {
  const ks = [1, 2, 3, 31, 32, 33, 576, 4608];
  const variants = [
    { alpha: true, bias: true, gamma: true, beta: true },
    { alpha: false, bias: false, gamma: true, beta: true },
    { alpha: true, bias: false, gamma: false, beta: true }, // Larq's BatchNormalization(scale=False)
    { alpha: false, bias: true, gamma: true, beta: false },
  ];
  for (const k of ks) {
    it(`K = ${k}`, () => {
      const rng = new Random(1000 + k);
      const channels = k >= 576 ? 64 : 200;
      for (const parts of variants)
        expect(firstMismatch(k, channels, randomParams(rng, k, channels, parts))).toBeNull();
      expect(firstMismatch(k, channels, tieParams(rng, k, channels))).toBeNull();
    });
  }

  it("without batch norm: sign(x * alpha + bias)", () => {
    const rng = new Random(7);
    const channels = 100;
    const alpha = Array.from({ length: channels }, (_, j) => (j % 10 === 0 ? 0 : f(rng.uniform(-1, 1))));
    const bias = Array.from({ length: channels }, (_, j) =>
      j % 3 === 0 ? Math.round(rng.uniform(-40, 40)) : f(rng.normal() * 10),
    );
    for (const k of [1, 32, 33, 576]) expect(firstMismatch(k, channels, { alpha, bias })).toBeNull();
  });
});

describe("threshold encoding", () => {
  it("matches the documented examples", () => {
    expect(thresholdOf(4, (x) => x >= 1)).toEqual({ threshold: 1, flip: false });
    expect(thresholdOf(4, (x) => x <= 1)).toEqual({ threshold: 2, flip: true });
    expect(thresholdOf(4, () => true)).toEqual({ threshold: ALWAYS_ON, flip: false });
    expect(thresholdOf(4, () => false)).toEqual({ threshold: ALWAYS_ON, flip: true });
    // The switch at either end of the range.
    expect(thresholdOf(4, (x) => x >= 4)).toEqual({ threshold: 4, flip: false });
    expect(thresholdOf(4, (x) => x > -4)).toEqual({ threshold: -3, flip: false });
    const fold = foldThresholds(9, 2, {
      batchNorm: { runningMean: [1, 1], runningVar: [1, 1], eps: 0, gamma: [1, -1] },
    });
    expect([...fold.thresholds, ...fold.flip]).toEqual([1, 2, 0, 1]);
  });

  it("gamma = 0 gives constant channels decided by sign(beta), with sign(0) = +1", () => {
    const fold = foldThresholds(5, 3, {
      batchNorm: {
        runningMean: [0, 0, 0],
        runningVar: [1, 1, 1],
        eps: 1e-3,
        gamma: [0, 0, 0],
        beta: [-1, 0, 2],
      },
    });
    expect([...fold.thresholds]).toEqual([ALWAYS_ON, ALWAYS_ON, ALWAYS_ON]);
    expect([...fold.flip]).toEqual([1, 0, 0]);
  });

  it("packs the flips as a bit tensor for the engine", () => {
    const flip = new Uint8Array(33);
    flip[0] = flip[31] = flip[32] = 1;
    const t = thresholdTransform({ thresholds: new Int32Array(33), flip });
    if (t.kind !== "threshold") throw new Error();
    expect(t.flip.shape).toEqual([33]);
    expect([...t.flip.data]).toEqual([0x80000001, 1]);
  });

  it("rejects parameters the float32 graph cannot evaluate monotonically", () => {
    const bn = { runningMean: [3e38], runningVar: [1e-30], eps: 0, gamma: [1] };
    expect(() => foldThresholds(4, 1, { batchNorm: bn })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: foldThresholds: channel 0: the float32 graph overflows at x = -4]`,
    );
    expect(() => foldThresholds(4, 1, { alpha: [Number.NaN] })).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: fold: channel 0: alpha is NaN, not a finite float32]`,
    );
  });
});

describe("affine folds for a float output", () => {
  const rng = new Random(3);
  const k = 576;
  const channels = 64;
  const p = randomParams(rng, k, channels, { alpha: true, bias: true, gamma: true, beta: true });
  const bn = p.batchNorm!;

  it("exactAffine then the engine's batchnorm order reproduces the graph bit for bit", () => {
    for (const params of [p, { ...p, batchNorm: { ...bn, gamma: undefined, beta: undefined } }]) {
      const { scale, bias } = exactAffine(channels, params);
      const { mean, invStd, gamma, beta } = batchNormTensors(channels, params.batchNorm!);
      const y = trainingGraph(k, channels, params);
      for (let r = 0; r <= 2 * k; r++) {
        for (let j = 0; j < channels; j++) {
          // The engine's documented order: affine output, then the batchnorm layer.
          const z = f(f((r - k) * scale[j]!) + bias[j]!);
          const h = f(f(z - mean.data[j]!) * invStd.data[j]!);
          const engine = f(f(gamma.data[j]! * h) + beta.data[j]!);
          if (engine !== y[r * channels + j]) {
            expect.fail(`x=${r - k} channel ${j}: engine ${engine}, graph ${y[r * channels + j]}`);
          }
        }
      }
    }
  });

  it("foldAffine is one multiply-add within a few float32 ulp of the graph", () => {
    const { scale, bias } = foldAffine(channels, p);
    const y = trainingGraph(k, channels, p);
    let worst = 0;
    for (let r = 0; r <= 2 * k; r++) {
      for (let j = 0; j < channels; j++) {
        const folded = f(f((r - k) * scale[j]!) + bias[j]!);
        // Error relative to the magnitudes the graph's steps go through.
        const z = (r - k) * p.alpha![j]! + p.bias![j]!;
        const s = invStdOf(bn.runningVar[j]!, bn.eps) * bn.gamma![j]!;
        const magnitude = Math.abs(z * s) + Math.abs(bn.runningMean[j]! * s) + Math.abs(bn.beta![j]!);
        worst = Math.max(worst, Math.abs(folded - y[r * channels + j]!) / magnitude);
      }
    }
    expect(worst).toBeLessThan(2 ** -20);
  });
});
