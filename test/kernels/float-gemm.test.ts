import { describe, expect, it } from "vitest";
import { createBackend } from "../../src/kernels/index.js";
import { Random } from "../../src/util/random.js";
import { compareBackends, randomF32 } from "./float-harness.js";

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 5, 7],
  [4, 8, 16],
  [13, 17, 33],
  [8, 24, 1],
  [37, 70, 129],
  [9, 300, 500],
  [70, 9, 800],
  // One output row (matrix-vector paths), a single output column (computed as C^T), and a
  // row too deep for the vector path's scratch (falls back to the blocked kernel).
  [1, 70, 37],
  [1, 130, 9],
  [200, 1, 40],
  [1, 3, 100_000],
  // im2col shapes: forward cols * W^T, dW = dy^T * cols, dcols = dy * W.
  [243, 16, 72],
  [16, 72, 243],
  [243, 72, 16],
];

describe("sgemm: wasm matches ref", () => {
  for (const [m, n, k] of SHAPES) {
    it(`m=${m} n=${n} k=${k}, all transposes, ld > cols, alpha/beta`, async () => {
      const rng = new Random(m * 1000 + n * 10 + k);
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [alpha, beta] of [
            [1, 0],
            [-0.5, 1],
            [2, 0.25],
          ] as const) {
            const lda = (transA ? m : k) + 3;
            const ldb = (transB ? k : n) + 5;
            const ldc = n + 2;
            const c = randomF32(rng, m * ldc);
            if (beta === 0) c.fill(Number.NaN);
            await compareBackends(
              `sgemm ${transA ? "T" : "N"}${transB ? "T" : "N"} ${m}x${n}x${k} alpha ${alpha} beta ${beta}`,
              {
                a: randomF32(rng, (transA ? k : m) * lda),
                b: randomF32(rng, (transB ? n : k) * ldb),
                c,
              },
              (f, p) => f.sgemm(transA, transB, m, n, k, alpha, p.a!, lda, p.b!, ldb, beta, p.c!, ldc),
              // float32 sums of k products of values in [-1, 1]: error grows like sqrt(k).
              2e-6 * Math.sqrt(k) * 4,
            );
          }
        }
      }
    });
  }

  it("k = 0 scales C by beta (zeros for beta = 0, even over NaN)", async () => {
    const rng = new Random(5);
    for (const beta of [0, 0.5]) {
      const c = randomF32(rng, 12);
      if (beta === 0) c.fill(Number.NaN);
      await compareBackends("sgemm k=0", { a: randomF32(rng, 4), b: randomF32(rng, 4), c }, (f, p) =>
        f.sgemm(false, false, 3, 4, 0, 1, p.a!, 1, p.b!, 4, beta, p.c!, 4),
      );
    }
  });

  it("writes only inside ldc: columns beyond n keep their values", async () => {
    const rng = new Random(6);
    await compareBackends(
      "sgemm ldc gap",
      { a: randomF32(rng, 6 * 5), b: randomF32(rng, 5 * 11), c: randomF32(rng, 6 * 16) },
      (f, p) => f.sgemm(false, false, 6, 11, 5, 1, p.a!, 5, p.b!, 11, 0, p.c!, 16),
      1e-5,
    );
  });
});

describe("wasm backend", () => {
  it("'wasm' is the SIMD build where SIMD exists, and sgemm allocates nothing per call", async () => {
    const backend = await createBackend("wasm");
    expect(backend.name).toBe("wasm-simd");
    const { heap, float } = backend;
    const a = heap.alloc(4 * 600 * 300, true);
    const c = heap.alloc(4 * 600 * 300);
    const blocks = heap.liveBlocks;
    float.sgemm(false, true, 600, 300, 300, 1, a, 300, a, 300, 0, c, 300);
    float.sumRows(30, 5000, a, c);
    expect(heap.liveBlocks).toBe(blocks);
  });

  it("rejects leading dimensions smaller than the matrix", async () => {
    const { heap, float } = await createBackend("wasm-scalar");
    const p = heap.alloc(64);
    expect(() => float.sgemm(false, false, 2, 3, 4, 1, p, 3, p, 3, 0, p, 3)).toThrow(/lda 3 \(need >= 4\)/);
  });
});
