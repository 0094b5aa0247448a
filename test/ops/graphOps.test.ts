/**
 * The ops of residual and dense BNNs beyond their gradient cases (cases.ts): exact values
 * at PReLU's kink, inputs that need no gradient, and errors that name the op and shapes.
 */
import { describe, expect, it } from "vitest";
import { concat, depthwiseConv2d, globalAvgPool2d, prelu } from "../../src/ops/index.js";
import { context } from "./checkOp.js";

describe.each(["ref", "wasm"] as const)("graph ops (%s)", (kind) => {
  it("prelu at exact zeros: y = x, slope 1, no alpha gradient", async () => {
    const ctx = await context(kind);
    ctx.tidy(() => {
      const x = ctx.parameter(ctx.fromArray([-2, -0, 0, 0.5, -1, 3], [2, 3]));
      const alpha = ctx.parameter(ctx.fromArray([0.25, -0.5, 2]));
      const y = prelu(x, alpha);
      y.backward(ctx.fromArray([1, 2, 3, 4, 5, 6], [2, 3]));
      expect(Array.from(y.data)).toEqual([-0.5, -0, 0, 0.5, 0.5, 3]);
      expect(Array.from(x.grad!.data)).toEqual([0.25, 2, 3, 4, -2.5, 6]);
      // dalpha[c] = sum of g * x over x < 0: channel 0 has -2 (g 1), channel 1 has -1 (g 5).
      expect(Array.from(alpha.grad!.data)).toEqual([-2, -5, 0]);
      x.dispose();
      alpha.dispose();
    });
  });

  it("concat gives gradient only to the inputs that require it", async () => {
    const ctx = await context(kind);
    ctx.tidy(() => {
      const a = ctx.fromArray([1, 2, 3, 4], [2, 2]);
      const b = ctx.parameter(ctx.fromArray([5, 6], [2, 1]));
      const y = concat([a, b]);
      expect(Array.from(y.data)).toEqual([1, 2, 5, 3, 4, 6]);
      y.backward(ctx.fromArray([1, 2, 3, 4, 5, 6], [2, 3]));
      expect(a.grad).toBeNull();
      expect(Array.from(b.grad!.data)).toEqual([3, 6]);
      b.dispose();
    });
  });

  it("errors name the op and the shapes", async () => {
    const ctx = await context(kind);
    ctx.tidy(() => {
      expect(() => concat([])).toThrowErrorMatchingInlineSnapshot(
        `[Error: concat: needs at least one tensor]`,
      );
      expect(() => concat([ctx.zeros([2, 3]), ctx.zeros([3, 3])])).toThrowErrorMatchingInlineSnapshot(
        `[Error: concat: shapes [2,3], [3,3] differ outside axis 1]`,
      );
      expect(() => concat([ctx.zeros([2, 3])], 2)).toThrowErrorMatchingInlineSnapshot(
        `[RangeError: concat: axis 2 is out of range for shape [2,3]]`,
      );
      expect(() => prelu(ctx.zeros([2, 3]), ctx.zeros([2]))).toThrowErrorMatchingInlineSnapshot(
        `[Error: prelu: alpha [2] must have one slope per channel of x [2,3]]`,
      );
      expect(() => prelu(ctx.zeros([2, 3]), ctx.zeros([1, 3]))).toThrowErrorMatchingInlineSnapshot(
        `[Error: prelu: alpha [C] must have rank 1, got shape [1,3]]`,
      );
      expect(() => globalAvgPool2d(ctx.zeros([2, 3]))).toThrowErrorMatchingInlineSnapshot(
        `[Error: globalAvgPool2d: input x [N, H, W, C] must have rank 4, got shape [2,3]]`,
      );
      expect(() =>
        depthwiseConv2d(ctx.zeros([1, 4, 4, 3]), ctx.zeros([3, 3, 2])),
      ).toThrowErrorMatchingInlineSnapshot(
        `[Error: depthwiseConv2d: weights [3,3,2] filter 2 channels, input [1,4,4,3] has 3]`,
      );
      expect(() =>
        depthwiseConv2d(ctx.zeros([1, 4, 4, 3]), ctx.zeros([1, 3, 3, 3])),
      ).toThrowErrorMatchingInlineSnapshot(
        `[Error: depthwiseConv2d: weights w [kh, kw, C] must have rank 3, got shape [1,3,3,3]]`,
      );
    });
  });
});
