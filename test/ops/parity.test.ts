/**
 * Every op on the WebAssembly backend against the same op on the reference backend, over
 * the same grid of shapes and inputs: forward and gradients. Elementwise results are
 * float32-exact in both; sums and products may differ by rounding order only.
 */
import { describe, it } from "vitest";
import { CASES } from "./cases.js";
import { context, expectClose, makeInputs, runOp } from "./checkOp.js";

describe.each(["wasm", "wasm-scalar"] as const)("%s ops equal ref ops", (kind) => {
  for (const c of CASES) {
    for (const shapes of c.grid) {
      it(`${c.name} ${JSON.stringify(shapes)}`, async () => {
        const inputs = makeInputs(c, shapes);
        const ref = runOp(await context("ref"), c, inputs);
        const wasm = runOp(await context(kind), c, inputs);
        expectClose(`${c.name} forward`, wasm.out, ref.out, 1e-5, 1e-5);
        ref.grads.forEach((g, i) => {
          if (g) expectClose(`${c.name} d/dinput${i}`, wasm.grads[i]!, g, 1e-5, 1e-5);
        });
      });
    }
  }
});
