/**
 * One-line op checks (tinygrad's helper_test_op): an op case pairs the op with an
 * independent float64 reference forward (reference.ts). `checkOp` runs the op, compares
 * its forward with the reference and its analytical gradient (backward from a random seed
 * gradient r) with central differences of sum(ref(x) * r) in float64. `runOp` returns the
 * forward and gradients, for comparing backends with each other.
 */
import { expect } from "vitest";
import type { Context } from "../../src/tensor/context.js";
import { createContext } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Random } from "../../src/util/random.js";
import type { Arr } from "./reference.js";

export interface OpCase {
  name: string;
  /** The input shapes of each test: a grid with odd sizes and sizes of 1. */
  grid: number[][][];
  op: (xs: Tensor[], ctx: Context) => Tensor;
  ref: (xs: Arr[]) => Arr;
  /** Value of input i, element j (default uniform in [-2, 2)). */
  gen?: (rng: Random, input: number, j: number) => number;
  /** Points where the op is not differentiable: inputs closer than 0.02 are resampled. */
  kinks?: number[];
  /** Inputs that are constants (labels, targets): no gradient checked. */
  constants?: number[];
  /** Relative tolerance of the forward comparison (default 1e-5). */
  forwardTol?: number;
}

const contexts = new Map<string, Promise<Context>>();
/** One Context per backend for the whole test file. */
export function context(kind: "ref" | "wasm" | "wasm-scalar"): Promise<Context> {
  let c = contexts.get(kind);
  if (!c) {
    c = createContext(kind);
    contexts.set(kind, c);
  }
  return c;
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Float32-representable inputs of a case, deterministic per case and shapes. */
export function makeInputs(c: OpCase, shapes: number[][]): Arr[] {
  const rng = new Random(seedOf(`${c.name} ${JSON.stringify(shapes)}`));
  return shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data: number[] = [];
    for (let j = 0; j < n; j++) {
      let v: number;
      do {
        v = Math.fround(c.gen ? c.gen(rng, i, j) : rng.uniform(-2, 2));
      } while (!c.constants?.includes(i) && c.kinks?.some((k) => Math.abs(v - k) < 0.02));
      data.push(v);
    }
    return { data, shape };
  });
}

export interface OpRun {
  shape: number[];
  out: Float32Array;
  grads: (Float32Array | null)[];
  seed: number[];
}

/**
 * Runs the op on a backend: forward, then backward from a random seed gradient. Runs it
 * twice and demands that the second run leaves the heap's live blocks as it found them
 * (the first may create a kernel's lasting scratch, e.g. the wasm sgemm packing buffer).
 */
export function runOp(ctx: Context, c: OpCase, inputs: Arr[]): OpRun {
  runOnce(ctx, c, inputs);
  const blocks = ctx.heap.liveBlocks;
  const run = runOnce(ctx, c, inputs);
  // Every op must release what it allocated, including saved buffers and scratch.
  expect(ctx.heap.liveBlocks, `${c.name}: heap blocks leaked`).toBe(blocks);
  return run;
}

function runOnce(ctx: Context, c: OpCase, inputs: Arr[]): OpRun {
  const xs = inputs.map((a, i) => {
    const t = ctx.keep(ctx.fromArray(a.data, a.shape));
    t.requiresGrad = !c.constants?.includes(i);
    return t;
  });
  const run = ctx.tidy(() => {
    const y = c.op(xs, ctx);
    const rng = new Random(seedOf(`seed ${c.name}`));
    const seed = Array.from({ length: y.size }, () => Math.fround(rng.uniform(-1, 1)));
    y.backward(ctx.fromArray(seed, y.shape));
    return { shape: [...y.shape], out: y.toArray(), seed };
  });
  const grads = xs.map((t) => (t.requiresGrad ? (t.grad?.toArray() ?? new Float32Array(t.size)) : null));
  for (const t of xs) t.dispose();
  return { ...run, grads };
}

export function expectClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
): void {
  expect(actual.length, `${name}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (!(err <= atol) && (at < 0 || err > worst)) {
      worst = err;
      at = i;
    }
  }
  if (at >= 0) {
    expect.fail(
      `${name}: element ${at} is ${actual[at]}, expected ${expected[at]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Forward against the float64 reference and backward against central differences. */
export function checkOp(ctx: Context, c: OpCase, shapes: number[][]): void {
  const inputs = makeInputs(c, shapes);
  const run = runOp(ctx, c, inputs);
  const expected = c.ref(inputs);
  expect(run.shape, `${c.name}: output shape`).toEqual(expected.shape);
  const tol = c.forwardTol ?? 1e-5;
  expectClose(`${c.name} forward`, run.out, expected.data, tol, tol);

  const loss = (xs: Arr[]) => c.ref(xs).data.reduce((s, v, i) => s + v * run.seed[i]!, 0);
  const h = 1e-4;
  inputs.forEach((input, i) => {
    const analytic = run.grads[i];
    if (!analytic) return;
    const numeric = input.data.map((_, j) => {
      const at = (delta: number) =>
        loss(
          inputs.map((a, k) =>
            k !== i ? a : { shape: a.shape, data: a.data.map((v, m) => (m === j ? v + delta : v)) },
          ),
        );
      return (at(h) - at(-h)) / (2 * h);
    });
    expectClose(`${c.name} d/dinput${i}`, analytic, numeric, 1e-2, 1e-3);
  });
}
