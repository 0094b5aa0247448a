import { describe, it } from "vitest";
import { Random } from "../../src/util/random.js";
import { compareBackends, randomF32 } from "./float-harness.js";

const MATRICES: [number, number][] = [
  [1, 1],
  [1, 5],
  [7, 1],
  [3, 4],
  [17, 13],
  [64, 32],
  [129, 10],
  // Wider than the kernels' first float64 accumulator block: exercises its growth.
  [2, 5001],
];

describe("reductions: wasm matches ref", () => {
  for (const [rows, cols] of MATRICES) {
    const n = rows * cols;
    it(`${rows}x${cols}`, async () => {
      const rng = new Random(rows * 31 + cols);
      const x = randomF32(rng, n, -3, 5);
      const out = { rowsOut: randomF32(rng, cols), colsOut: randomF32(rng, rows) };
      // Column sums accumulate in float64 in row order in both: equal.
      await compareBackends(`sumRows ${rows}x${cols}`, { x, ...out }, (f, p) =>
        f.sumRows(rows, cols, p.x!, p.rowsOut!),
      );
      await compareBackends(
        `meanVarRows ${rows}x${cols}`,
        { x, mean: randomF32(rng, cols), v: randomF32(rng, cols) },
        (f, p) => f.meanVarRows(rows, cols, p.x!, p.mean!, p.v!),
      );
      await compareBackends(
        `sumCols ${rows}x${cols}`,
        { x, ...out },
        (f, p) => f.sumCols(rows, cols, p.x!, p.colsOut!),
        1e-7,
      );
      await compareBackends(`sum ${n}`, { x }, (f, p) => f.sum(n, p.x!), 1e-12);
      await compareBackends(`maxAbs ${n}`, { x }, (f, p) => f.maxAbs(n, p.x!));
      const bad = x.slice();
      for (let i = 0; i < n; i += 5)
        bad[i] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY][i % 3]!;
      await compareBackends(`countNonFinite ${n}`, { bad }, (f, p) => f.countNonFinite(n, p.bad!));
      await compareBackends(`maxAbs NaN ${n}`, { bad }, (f, p) => f.maxAbs(n, p.bad!));
    });
  }
});

describe("fused layers: wasm matches ref", () => {
  for (const [rows, cols] of MATRICES) {
    it(`batch norm ${rows}x${cols}`, async () => {
      const rng = new Random(rows + cols * 7);
      const vec = () => randomF32(rng, cols, 0.2, 2);
      const inputs = {
        x: randomF32(rng, rows * cols, -2, 2),
        mean: randomF32(rng, cols),
        invStd: vec(),
        gamma: vec(),
        beta: randomF32(rng, cols),
        y: randomF32(rng, rows * cols),
        xhat: randomF32(rng, rows * cols),
        dy: randomF32(rng, rows * cols),
        dx: randomF32(rng, rows * cols),
        dgamma: randomF32(rng, cols),
        dbeta: randomF32(rng, cols),
      };
      await compareBackends(`batchNormForward ${rows}x${cols}`, inputs, (f, p) =>
        f.batchNormForward(rows, cols, p.x!, p.mean!, p.invStd!, p.gamma!, p.beta!, p.y!, p.xhat!),
      );
      await compareBackends(`batchNormForward no xhat ${rows}x${cols}`, inputs, (f, p) =>
        f.batchNormForward(rows, cols, p.x!, p.mean!, p.invStd!, p.gamma!, p.beta!, p.y!, 0),
      );
      await compareBackends(`batchNormBackward ${rows}x${cols}`, inputs, (f, p) =>
        f.batchNormBackward(rows, cols, p.dy!, p.xhat!, p.gamma!, p.invStd!, p.dx!, p.dgamma!, p.dbeta!),
      );
    });

    it(`softmax cross-entropy and adam ${rows}x${cols}`, async () => {
      const rng = new Random(rows * 3 + cols);
      const labels = new Int32Array(rows);
      for (let r = 0; r < rows; r++) labels[r] = rng.int(cols);
      const logits = randomF32(rng, rows * cols, -20, 20);
      await compareBackends(
        `softmaxCrossEntropy ${rows}x${cols}`,
        { logits, labels, d: randomF32(rng, rows * cols) },
        (f, p) => f.softmaxCrossEntropy(rows, cols, p.logits!, p.labels!, p.d!),
        1e-6,
      );
      const n = rows * cols;
      for (const [step, clip] of [
        [1, 0],
        [7, 1],
      ] as const) {
        await compareBackends(
          `adam ${n} step ${step} clip ${clip}`,
          {
            p: randomF32(rng, n, -1.5, 1.5),
            g: randomF32(rng, n),
            m: randomF32(rng, n, -0.1, 0.1),
            v: randomF32(rng, n, 0, 0.1),
          },
          (f, p) => f.adam(n, p.p!, p.g!, p.m!, p.v!, 0.01, 0.9, 0.999, 1e-7, step, clip),
          2e-6,
        );
      }
    });
  }

  it("softmax cross-entropy rejects a label out of range", async () => {
    const { allBackends } = await import("./float-harness.js");
    for (const backend of await allBackends()) {
      const z = backend.heap.alloc(8);
      const l = backend.heap.alloc(4);
      backend.heap.i32At(l, 1)[0] = 2;
      let message = "";
      try {
        backend.float.softmaxCrossEntropy(1, 2, z, l, 0);
      } catch (err) {
        message = (err as Error).message;
      }
      if (!/label 2 of row 0 is outside \[0, 2\)/.test(message))
        throw new Error(`${backend.name}: got '${message}'`);
    }
  });
});
