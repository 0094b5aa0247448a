/** End to end: a float MLP learns separable data through the ops and autograd. */
import { expect, it } from "vitest";
import { add, matmul, relu, softmaxCrossEntropy, squaredHinge } from "../../src/ops/index.js";
import type { Context } from "../../src/tensor/context.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Random } from "../../src/util/random.js";
import { context } from "./checkOp.js";

const CENTERS = [
  [2, 2, 0, 0],
  [-2, 0, 2, 0],
  [0, -2, -2, 1],
];

/** n points of 3 Gaussian blobs (std 0.7) in 4-D, labels = blob index. */
function blobs(n: number, rng: Random): { x: number[]; labels: number[] } {
  const x: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(3);
    labels.push(k);
    for (const c of CENTERS[k]!) x.push(c + 0.7 * rng.normal());
  }
  return { x, labels };
}

function accuracy(logits: Float32Array, labels: number[]): number {
  let right = 0;
  labels.forEach((label, r) => {
    const row = Array.from(logits.subarray(r * 3, r * 3 + 3));
    if (row.indexOf(Math.max(...row)) === label) right++;
  });
  return right / labels.length;
}

function train(
  ctx: Context,
  loss: "ce" | "hinge",
): { trainAcc: number; testAcc: number; first: number; last: number } {
  const rng = new Random(21);
  const w1 = ctx.parameter(ctx.randn([4, 16], rng, 0.5));
  const b1 = ctx.parameter(ctx.zeros([16]));
  const w2 = ctx.parameter(ctx.randn([16, 3], rng, 0.5));
  const b2 = ctx.parameter(ctx.zeros([3]));
  const params = [w1, b1, w2, b2];
  const forward = (x: Tensor) => add(matmul(relu(add(matmul(x, w1), b1)), w2), b2);
  const data = blobs(200, rng);
  const test = blobs(200, rng);
  const x = ctx.keep(ctx.fromArray(data.x, [200, 4]));
  const targets = ctx.keep(
    ctx.fromArray(
      data.labels.flatMap((l) => [0, 1, 2].map((k) => (k === l ? 1 : -1))),
      [200, 3],
    ),
  );
  const losses: number[] = [];
  for (let step = 0; step < 150; step++) {
    losses.push(
      ctx.tidy(() => {
        const y = forward(x);
        const l = loss === "ce" ? softmaxCrossEntropy(y, data.labels) : squaredHinge(y, targets);
        l.backward();
        return l.item();
      }),
    );
    for (const p of params) {
      ctx.float.axpy(p.size, -0.1, p.grad!.ptr, p.ptr);
      p.zeroGrad();
    }
  }
  const acc = (d: { x: number[]; labels: number[] }) =>
    ctx.tidy(() =>
      ctx.noGrad(() => accuracy(forward(ctx.fromArray(d.x, [d.labels.length, 4])).toArray(), d.labels)),
    );
  const result = {
    trainAcc: acc(data),
    testAcc: acc(test),
    first: losses[0]!,
    last: losses[losses.length - 1]!,
  };
  for (const t of [...params, x, targets]) t.dispose();
  return result;
}

for (const kind of ["ref", "wasm"] as const) {
  for (const loss of ["ce", "hinge"] as const) {
    it(`a float MLP learns 3 separable blobs (${kind}, ${loss})`, async () => {
      const r = train(await context(kind), loss);
      expect(r.last).toBeLessThan(r.first / 4);
      expect(r.trainAcc).toBeGreaterThanOrEqual(0.97);
      expect(r.testAcc).toBeGreaterThanOrEqual(0.95);
    });
  }
}
