import { describe, expect, it } from "vitest";
import {
  incompleteBeta,
  logGamma,
  pairedDifference,
  summarize,
  tCdf,
  tQuantile,
} from "../../src/analysis/stats.js";

describe("Student t", () => {
  it("log gamma matches factorials and Gamma(1/2) = sqrt(pi)", () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });

  it("the incomplete beta function matches closed forms", () => {
    // I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b.
    expect(incompleteBeta(0.3, 2.5, 1)).toBeCloseTo(0.3 ** 2.5, 12);
    expect(incompleteBeta(0.7, 1, 3)).toBeCloseTo(1 - 0.3 ** 3, 12);
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
  });

  it("the CDF matches the closed forms for 1 and 2 degrees of freedom", () => {
    for (const t of [-3, -0.5, 0, 0.8, 2, 10]) {
      expect(tCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
      expect(tCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 12);
    }
  });

  it("0.975 quantiles match the published table", () => {
    // Two-sided 95% critical values (any statistics table).
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [4, 2.776],
      [5, 2.571],
      [9, 2.262],
      [10, 2.228],
      [30, 2.042],
      [120, 1.98],
    ];
    for (const [df, t] of table) expect(tQuantile(0.975, df)).toBeCloseTo(t, 3);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.95996, 4);
    expect(tQuantile(0.025, 4)).toBeCloseTo(-2.776, 3);
    // Closed form for 1 df: tan(pi (p - 1/2)).
    expect(tQuantile(0.9, 1)).toBeCloseTo(Math.tan(Math.PI * 0.4), 9);
  });

  it("refuses bad arguments", () => {
    expect(() => tQuantile(1, 3)).toThrow(/p must be in \(0, 1\)/);
    expect(() => tQuantile(0.9, 0)).toThrow(/degrees of freedom/);
  });
});

describe("summaries over seeds", () => {
  it("mean, sample sd and the 95% t interval", () => {
    const s = summarize([1, 2, 3, 4, 5]);
    expect(s.mean).toBe(3);
    expect(s.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    // 3 -/+ 2.7764 * 1.5811 / sqrt(5) = 3 -/+ 1.9632
    expect(s.low).toBeCloseTo(1.0368, 4);
    expect(s.high).toBeCloseTo(4.9632, 4);
    const two = summarize([0.97, 0.98]);
    // sd = 0.00707; half width 12.706 * 0.00707 / sqrt(2) = 0.06353
    expect(two.high! - two.mean).toBeCloseTo(0.06353, 5);
  });

  it("one value has no spread and no interval", () => {
    expect(summarize([0.9])).toEqual({ n: 1, mean: 0.9, sd: null, low: null, high: null });
    expect(() => summarize([])).toThrow(/no values/);
  });

  it("paired differences: beyond noise only when the interval excludes 0", () => {
    const ref = [0.9, 0.92, 0.91];
    const up = pairedDifference([0.93, 0.951, 0.94], ref);
    expect(up.mean).toBeCloseTo(0.03033, 5);
    expect(up.beyondNoise).toBe(true);
    const noisy = pairedDifference([0.91, 0.91, 0.92], ref);
    expect(noisy.low! < 0 && noisy.high! > 0).toBe(true);
    expect(noisy.beyondNoise).toBe(false);
    // The same model under the same seeds: difference exactly 0, interval [0, 0].
    expect(pairedDifference(ref, ref)).toMatchObject({ mean: 0, low: 0, high: 0, beyondNoise: false });
    expect(pairedDifference([0.9], [0.8]).beyondNoise).toBeNull();
    expect(() => pairedDifference([1, 2], [1])).toThrow(/equal counts/);
  });
});
