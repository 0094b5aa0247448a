import { describe, expect, it } from "vitest";
import { convGeometry } from "../../src/kernels/geometry.js";
import { xnorActivationScale } from "../../src/quant/xnorScale.js";

describe("XNOR-Net activation scale K", () => {
  it("matches a hand computation (3x3 image, 2 channels, 2x2 valid window)", () => {
    // A = mean_c |I| per pixel:
    //   [1, 2, 3]
    //   [4, 5, 6]
    //   [7, 8, 9]
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const x = new Float32Array(18);
    a.forEach((v, p) => {
      x[2 * p] = -(v - 1); // |I| of the two channels averages to v
      x[2 * p + 1] = v + 1;
    });
    const k = xnorActivationScale(x, convGeometry(1, 3, 3, 2, 2, 2, 1, 1, "valid"));
    expect([...k]).toEqual([
      (1 + 2 + 4 + 5) / 4,
      (2 + 3 + 5 + 6) / 4,
      (4 + 5 + 7 + 8) / 4,
      (5 + 6 + 8 + 9) / 4,
    ]);
  });
  it("counts padding as zero under 'same'", () => {
    const x = new Float32Array(9).fill(1);
    const k = xnorActivationScale(x, convGeometry(1, 3, 3, 1, 3, 3, 1, 1, "same"));
    expect([...k]).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4].map((v) => Math.fround(v / 9)));
  });
  it("names a size mismatch", () => {
    expect(() =>
      xnorActivationScale(new Float32Array(3), convGeometry(1, 2, 2, 1, 1, 1, 1, 1, "valid")),
    ).toThrow(/3 values, geometry needs 4/);
  });
});
