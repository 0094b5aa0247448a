import { describe, it } from "vitest";
import type { BinaryOp, UnaryOp } from "../../src/kernels/types.js";
import { Random } from "../../src/util/random.js";
import { compareBackends, randomF32 } from "./float-harness.js";

const SIZES = [1, 3, 4, 7, 16, 33, 1001];
const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "max", "min"];
const UNARY: UnaryOp[] = [
  "relu",
  "hardtanh",
  "sign",
  "approx_sign",
  "neg",
  "abs",
  "square",
  "sqrt",
  "exp",
  "log",
];
// Mathf.exp/log in WebAssembly and Math.exp/log in V8 may differ in the last bit.
const TOL: Partial<Record<UnaryOp, number>> = { exp: 3e-7, log: 3e-7 };

/** Values with the edge cases every op must agree on: zeros of both signs, +/-1, NaN, infinities. */
function edgy(rng: Random, n: number): Float32Array {
  const x = randomF32(rng, n, -2, 2);
  const special = [0, -0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-30];
  for (let i = 0; i < n; i += 3) x[i] = special[(i / 3) % special.length]!;
  return x;
}

describe("elementwise kernels: wasm matches ref", () => {
  for (const n of SIZES) {
    it(`binary ops, n=${n}, separate and aliased outputs`, async () => {
      const rng = new Random(n);
      for (const op of BINARY) {
        const inputs = { a: edgy(rng, n), b: edgy(rng, n), out: randomF32(rng, n) };
        await compareBackends(`binary ${op} n=${n}`, inputs, (f, p) => f.binary(op, n, p.a!, p.b!, p.out!));
        await compareBackends(`binary ${op} n=${n} out=a`, inputs, (f, p) =>
          f.binary(op, n, p.a!, p.b!, p.a!),
        );
        await compareBackends(`binaryScalar ${op} n=${n}`, inputs, (f, p) =>
          f.binaryScalar(op, n, p.a!, 0.3, p.out!),
        );
        const cols = Math.max(1, n % 7);
        const rows = Math.floor(n / cols);
        await compareBackends(`binaryRow ${op} ${rows}x${cols}`, { ...inputs, v: edgy(rng, cols) }, (f, p) =>
          f.binaryRow(op, rows, cols, p.a!, p.v!, p.a!),
        );
      }
    });

    it(`unary ops and their backward, n=${n}`, async () => {
      const rng = new Random(n + 1);
      for (const op of UNARY) {
        const tol = TOL[op] ?? 0;
        const x = edgy(rng, n);
        if (op === "sqrt" || op === "log") for (let i = 1; i < n; i += 3) x[i] = Math.abs(x[i]!);
        const inputs = { x, out: randomF32(rng, n), dy: randomF32(rng, n), dx: randomF32(rng, n) };
        await compareBackends(`unary ${op} n=${n}`, inputs, (f, p) => f.unary(op, n, p.x!, p.out!), tol);
        await compareBackends(
          `unary ${op} n=${n} in place`,
          inputs,
          (f, p) => f.unary(op, n, p.x!, p.x!),
          tol,
        );
        for (const accumulate of [false, true]) {
          await compareBackends(
            `unaryBackward ${op} n=${n} accumulate ${accumulate}`,
            inputs,
            (f, p) => f.unaryBackward(op, n, p.x!, p.dy!, p.dx!, accumulate),
            tol,
          );
        }
        // The straight-through estimator's clip (QuickNet's 1.25; 1.1 rounds up in float32).
        for (const clip of op === "sign" ? [1.25, 0.5, 1.1] : []) {
          await compareBackends(
            `unaryBackward sign clip ${clip} n=${n}`,
            inputs,
            (f, p) => f.unaryBackward(op, n, p.x!, p.dy!, p.dx!, true, clip),
            tol,
          );
        }
      }
    });

    it(`axpy, fill, copy, n=${n}`, async () => {
      const rng = new Random(n + 2);
      const inputs = { x: edgy(rng, n), y: randomF32(rng, n) };
      await compareBackends(`axpy n=${n}`, inputs, (f, p) => f.axpy(n, -0.7, p.x!, p.y!));
      await compareBackends(`fill n=${n}`, inputs, (f, p) => f.fill(n, 2.5, p.y!));
      await compareBackends(`copy n=${n}`, inputs, (f, p) => f.copy(n, p.x!, p.y!));
    });
  }
});
