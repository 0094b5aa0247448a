/**
 * Every op's forward against an independent float64 reference and its backward against
 * float64 central differences (smooth ops), on the reference backend; the exact
 * pseudo-gradient formula for the piecewise ops (signSte, hardtanh, relu) with exact zeros,
 * +/-1 and values beyond +/-1.
 */
import { describe, expect, it } from "vitest";
import { hardtanh, relu, signSte } from "../../src/ops/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { CASES } from "./cases.js";
import { checkOp, context } from "./checkOp.js";

describe("op forward and backward vs float64 reference (ref backend)", () => {
  for (const c of CASES) {
    for (const shapes of c.grid) {
      it(`${c.name} ${JSON.stringify(shapes)}`, async () => checkOp(await context("ref"), c, shapes));
    }
  }
});

describe.each(["ref", "wasm"] as const)("piecewise pseudo-gradients, exact (%s)", (kind) => {
  const xs = [-2, -1.5, -1, -0.5, -0, 0, 0.25, 1, 1.5, 3];
  const pseudo = (
    name: string,
    op: (t: Tensor) => Tensor,
    forward: (x: number) => number,
    dfdx: (x: number) => number,
  ) =>
    it(name, async () => {
      const ctx = await context(kind);
      ctx.tidy(() => {
        const x = ctx.fromArray(xs);
        x.requiresGrad = true;
        const y = op(x);
        const seed = xs.map((_, i) => i + 1);
        y.backward(ctx.fromArray(seed));
        expect(Array.from(y.data)).toEqual(xs.map(forward));
        expect(Array.from(x.grad!.data)).toEqual(xs.map((v, i) => seed[i]! * dfdx(v)));
      });
    });
  pseudo(
    "signSte: sign(0) = +1, g * 1{|x| <= 1}",
    signSte,
    (x) => (x >= 0 ? 1 : -1),
    (x) => (Math.abs(x) <= 1 ? 1 : 0),
  );
  pseudo(
    "hardtanh: clip, g * 1{|x| <= 1}",
    hardtanh,
    (x) => Math.min(1, Math.max(-1, x)),
    (x) => (Math.abs(x) <= 1 ? 1 : 0),
  );
  pseudo(
    "relu: g * 1{x > 0}",
    relu,
    (x) => Math.max(x, 0),
    (x) => (x > 0 ? 1 : 0),
  );
});
