/** The stateful and mode-dependent ops: batchNorm's running statistics and eval mode, dropout. */
import { describe, expect, it } from "vitest";
import { batchNorm, dropout } from "../../src/ops/index.js";
import { Random } from "../../src/util/random.js";
import { context, expectClose } from "./checkOp.js";

describe.each(["ref", "wasm"] as const)("batchNorm and dropout (%s)", (kind) => {
  it("batchNorm training updates the running averages with the batch mean and biased variance", async () => {
    const ctx = await context(kind);
    const rng = new Random(11);
    const [rows, c] = [9, 4];
    const xs = Array.from({ length: rows * c }, () => Math.fround(rng.uniform(-3, 5)));
    const rm = ctx.keep(ctx.fromArray([0.5, 0, -1, 2]));
    const rv = ctx.keep(ctx.fromArray([1, 2, 0.5, 1]));
    const oldMean = rm.toArray();
    const oldVar = rv.toArray();
    ctx.tidy(() =>
      batchNorm(ctx.fromArray(xs, [rows, c]), {
        runningMean: rm,
        runningVar: rv,
        training: true,
        momentum: 0.9,
      }),
    );
    for (let j = 0; j < c; j++) {
      const col = Array.from({ length: rows }, (_, r) => xs[r * c + j]!);
      const mean = col.reduce((s, v) => s + v, 0) / rows;
      const variance = col.reduce((s, v) => s + (v - mean) ** 2, 0) / rows;
      expect(rm.data[j]).toBeCloseTo(0.9 * oldMean[j]! + 0.1 * mean, 5);
      expect(rv.data[j]).toBeCloseTo(0.9 * oldVar[j]! + 0.1 * variance, 5);
    }
    rm.dispose();
    rv.dispose();
  });

  it("batchNorm eval uses the running statistics, bit-equal to the fused kernel, and leaves them alone", async () => {
    const ctx = await context(kind);
    const rng = new Random(12);
    ctx.tidy(() => {
      const x = ctx.randn([2, 3, 3, 5], rng, 2);
      const gamma = ctx.randn([5], rng);
      const beta = ctx.randn([5], rng);
      const rm = ctx.randn([5], rng);
      const rv = ctx.uniform([5], rng, 0.5, 2);
      const eps = 1e-3;
      const y = batchNorm(x, { gamma, beta, runningMean: rm, runningVar: rv, training: false, eps });
      const invStd = ctx.fromArray(Array.from(rv.data, (v) => Math.fround(1 / Math.sqrt(v + eps))));
      const fused = ctx.empty(x.shape);
      ctx.float.batchNormForward(x.size / 5, 5, x.ptr, rm.ptr, invStd.ptr, gamma.ptr, beta.ptr, fused.ptr, 0);
      expect(Array.from(y.data)).toEqual(Array.from(fused.data));
      const expected = Array.from(x.data, (v, i) => {
        const j = i % 5;
        return ((v - rm.data[j]!) / Math.sqrt(rv.data[j]! + eps)) * gamma.data[j]! + beta.data[j]!;
      });
      expectClose("batchNorm eval", y.data, expected, 1e-5, 1e-5);
    });
  });

  it("dropout: identity in eval; in training keeps 1 - rate of the elements, scaled by 1/(1 - rate), reproducibly", async () => {
    const ctx = await context(kind);
    ctx.tidy(() => {
      const x = ctx.uniform([100, 100], new Random(1), 1, 2);
      expect(Array.from(dropout(x, 0.5, { training: false, rng: new Random(2) }).data)).toEqual(
        Array.from(x.data),
      );
      const y = dropout(x, 0.25, { training: true, rng: new Random(2) }).toArray();
      const again = dropout(x, 0.25, { training: true, rng: new Random(2) }).toArray();
      expect(Array.from(again)).toEqual(Array.from(y));
      const X = x.data;
      let kept = 0;
      for (let i = 0; i < y.length; i++) {
        if (y[i] !== 0) {
          kept++;
          expect(y[i]).toBe(Math.fround(X[i]! * Math.fround(1 / 0.75)));
        }
      }
      expect(kept / y.length).toBeGreaterThan(0.73);
      expect(kept / y.length).toBeLessThan(0.77);
    });
  });
});
