/**
 * Kernels on 2 threads give bit-identical results to 1 thread: sgemm over a grid of
 * shapes and transposes, the binary GEMM and convolution, elementwise kernels, a conv
 * layer's forward and both gradients, full training steps of bnn-cnn (conv) and bnn-mlp
 * (dense) with Adam, and an engine forward of the demo model. Every shape is large enough
 * that the work is really split (checked by counting pool dispatches).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Engine } from "../../src/engine/index.js";
import { bconv2dThresholdScratchWords } from "../../src/kernels/binaryTypes.js";
import { epilogueWords, writeEpilogue } from "../../src/kernels/epilogue.js";
import { type Backend, convGeometry, createBackend } from "../../src/kernels/index.js";
import { signGemmKernels } from "../../src/kernels/signGemm.js";
import { type Call, KernelPool } from "../../src/kernels/threads/pool.js";
import { chunksFor, splitRange } from "../../src/kernels/threads/split.js";
import { buildModel } from "../../src/nn/build.js";
import type { ModelConfig } from "../../src/nn/checkpointFormat.js";
import { conv2d, mean, softmaxCrossEntropy, square } from "../../src/ops/index.js";
import { Context } from "../../src/tensor/context.js";
import { adam } from "../../src/train/optimizers.js";
import { Random } from "../../src/util/random.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let one: Backend;
let two: Backend;
const dispatches = vi.spyOn(KernelPool.prototype, "run");

beforeAll(async () => {
  one = await createBackend("wasm", { threads: 1 });
  two = await createBackend("wasm", { threads: 2 });
});
afterAll(async () => {
  await two?.close?.();
});

/** Copies `values` into a new block of each backend's heap; returns the two pointers. */
function place(values: Float32Array | Uint32Array): [number, number] {
  return [one, two].map((b) => {
    const p = b.heap.alloc(values.byteLength);
    b.heap.u8().set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), p);
    return p;
  }) as [number, number];
}

function randomFloats(n: number, rng: Random): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function randomWords(n: number, rng: Random): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(0x10000) * 0x10000 + rng.int(0x10000);
  return a;
}

function bytesOf(b: Backend, ptr: number, bytes: number): Uint8Array {
  return b.heap.u8().slice(ptr, ptr + bytes);
}

/** Runs `job` on both backends and expects identical bytes at the output, and a split on 2 threads. */
function same(outBytes: number, job: (b: Backend, i: 0 | 1) => number): void {
  const out1 = job(one, 0);
  const before = dispatches.mock.calls.length;
  const out2 = job(two, 1);
  expect(dispatches.mock.calls.length, "the 2-thread run dispatched work to the pool").toBeGreaterThan(
    before,
  );
  expect(Buffer.from(bytesOf(two, out2, outBytes)).equals(Buffer.from(bytesOf(one, out1, outBytes)))).toBe(
    true,
  );
}

describe("chunksFor", () => {
  it("makes a multiple of the thread count, or 1 below the split threshold", () => {
    expect(chunksFor(2, 50)).toBe(1);
    expect(chunksFor(1, 1000)).toBe(1);
    // 150 us would make 3 chunks of 50: on 2 threads, 2 instead.
    expect(chunksFor(2, 150)).toBe(2);
    expect(chunksFor(2, 1000)).toBe(4);
    expect(chunksFor(3, 250)).toBe(3);
    expect(chunksFor(4, 10_000)).toBe(8);
  });
});

describe("splitRange", () => {
  it("covers the range with aligned starts", () => {
    expect(splitRange(100, 2, 16)).toEqual([
      [0, 48],
      [48, 100],
    ]);
    expect(splitRange(10, 4, 8)).toEqual([
      [0, 8],
      [8, 10],
    ]);
    expect(splitRange(7, 3, 1)).toEqual([
      [0, 2],
      [2, 4],
      [4, 7],
    ]);
  });
});

describe("threads: 1 vs 2 bit for bit", () => {
  it("starts a pool on a shared memory", () => {
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(two.module?.shared).toBe(true);
  });

  it("unrefs its workers once they are ready (a CLI run must exit; a pending start must not)", async () => {
    const { Worker } = await import("node:worker_threads");
    const unref = vi.spyOn(Worker.prototype, "unref");
    const on = vi.spyOn(Worker.prototype, "on");
    const b = await createBackend("wasm", { threads: 3 });
    expect(unref).toHaveBeenCalledTimes(2);
    // Adding a listener refs a worker again: every listener must come before the unrefs.
    expect(Math.max(...on.mock.invocationCallOrder)).toBeLessThan(
      Math.min(...unref.mock.invocationCallOrder),
    );
    unref.mockRestore();
    on.mockRestore();
    await b.close?.();
  });

  const shapes: [boolean, boolean, number, number, number, number, number][] = [
    // transA, transB, m, n, k, alpha, beta
    [false, false, 256, 256, 256, 1, 0],
    [false, true, 203, 157, 517, 1, 0],
    [true, false, 517, 157, 203, 0.5, 1],
    [true, true, 333, 301, 160, 1, 0.25],
    [false, true, 25088, 9, 144, 1, 0], // narrow output: the C^T path
    [true, false, 144, 32, 4000, 1, 0], // a conv's dW (long k)
    [false, false, 12, 3000, 600, 1, 0], // few rows: split over columns
    [false, true, 1, 1000, 512, 1, 0], // one row, B [n, k]: a classifier at batch 1 (gemvRows)
    [false, false, 1, 1003, 700, 1, 0.5], // one row, B [k, n], a ragged tail (gemvColsStream)
  ];
  it.each(shapes)("sgemm transA %s transB %s %i x %i x %i", (tA, tB, m, n, k, alpha, beta) => {
    const rng = new Random(m * 7 + n);
    const a = place(randomFloats(m * k, rng));
    const b = place(randomFloats(k * n, rng));
    const c = place(randomFloats(m * n, rng));
    same(m * n * 4, (be, i) => {
      be.float.sgemm(tA, tB, m, n, k, alpha, a[i], tA ? m : k, b[i], tB ? k : n, beta, c[i], n);
      return c[i];
    });
  });

  it("elementwise kernels and Adam", () => {
    const n = 1_000_003;
    const rng = new Random(3);
    const x = place(randomFloats(n, rng));
    const y = place(randomFloats(n, rng));
    const m = place(new Float32Array(n));
    const v = place(new Float32Array(n));
    same(n * 4, (be, i) => {
      be.float.unary("exp", n, x[i], y[i]);
      be.float.binary("mul", n, x[i], y[i], y[i]);
      be.float.axpy(n, 0.25, x[i], y[i]);
      be.float.adam(n, x[i], y[i], m[i], v[i], 1e-3, 0.9, 0.999, 1e-7, 3, 1);
      return x[i];
    });
  });

  it("binary GEMM, batch and single row", () => {
    const rng = new Random(5);
    const [m, n, words] = [512, 256, 36];
    const a = place(randomWords(m * words, rng));
    const b = place(randomWords(n * words, rng));
    const out = place(new Uint32Array(m * n));
    same(m * n * 4, (be, i) => {
      be.binary.bgemm(m, n, words, words * 32 - 5, a[i], b[i], out[i]);
      return out[i];
    });
    const big = place(randomWords(32768 * 256, rng));
    const row = place(randomWords(256, rng));
    const wide = place(new Uint32Array(32768));
    same(32768 * 4, (be, i) => {
      be.binary.bgemm(1, 32768, 256, 8192, row[i], big[i], wide[i]);
      return wide[i];
    });
  });

  it("binary convolution with zero padding (direct kernel, split over images)", () => {
    const rng = new Random(9);
    const g = convGeometry(32, 14, 14, 64, 3, 3, 1, 1, "same");
    const outC = 64;
    const x = place(randomWords(g.n * g.h * g.w * 2, rng));
    const w = place(randomWords(outC * 9 * 2, rng));
    const cols = place(new Uint32Array(g.n * 14 * 14 * 9 * 2));
    const out = place(new Uint32Array(g.n * 14 * 14 * outC));
    same(g.n * 14 * 14 * outC * 4, (be, i) => {
      be.binary.conv2d(g, 0, outC, x[i], w[i], cols[i], out[i]);
      return out[i];
    });
  });

  it("binary convolution with the threshold fused in (batch split by images, one image by rows)", () => {
    const rng = new Random(10);
    // 128 and 64 channels, outC a multiple of 16: the word tiles, with their scratch.
    for (const [n, c, outC] of [
      [16, 128, 96],
      [1, 128, 96],
      [3, 64, 64],
    ] as const) {
      const g = convGeometry(n, 28, 28, c, 3, 3, 1, 1, "same");
      const x = place(randomWords((n * 28 * 28 * c) / 32, rng));
      const w = place(randomWords((outC * 9 * c) / 32, rng));
      const thr = place(new Uint32Array(Int32Array.from({ length: outC }, () => rng.int(41) - 20).buffer));
      const flip = place(randomWords(outC / 32, rng));
      const out = place(new Uint32Array((n * 28 * 28 * outC) / 32));
      const padded = place(new Uint32Array(bconv2dThresholdScratchWords(g, outC)));
      for (const scratch of [undefined, padded]) {
        same((n * 28 * 28 * outC) / 8, (be, i) => {
          be.binary.conv2dThreshold(g, 0, outC, x[i], w[i], thr[i], flip[i], out[i], scratch?.[i]);
          return out[i];
        });
      }
    }
  });

  it("one image too small to share by rows splits over its filters (thresholds, affine, epilogue)", () => {
    const rng = new Random(15);
    // 7 rows on 2 threads: groups of 32 filters (200: a last group of 8). Pad 0 and +1,
    // valid padding (5 rows), and an epilogue of batch norm, add and pack over each share.
    for (const [size, c, outC, padValue, padding] of [
      [7, 512, 512, 1, "same"],
      [7, 256, 200, 0, "same"],
      [7, 480, 256, 0, "valid"],
    ] as const) {
      const g = convGeometry(1, size, size, c, 3, 3, 1, 1, padding);
      const pixels = g.outH * g.outW;
      const words = Math.ceil(outC / 32);
      const x = place(randomWords(size * size * Math.ceil(c / 32), rng));
      const w = place(randomWords(outC * 9 * Math.ceil(c / 32), rng));
      const thr = place(new Uint32Array(Int32Array.from({ length: outC }, () => rng.int(41) - 20).buffer));
      const flip = place(randomWords(words, rng));
      const bits = place(new Uint32Array(pixels * words));
      const channel = () => place(randomFloats(outC, rng));
      const [scale, bias, mean, invStd, gamma, beta] = [1, 2, 3, 4, 5, 6].map(channel);
      const other = place(randomFloats(pixels * outC, rng));
      const out = place(new Float32Array(pixels * outC));
      const padded = place(new Uint32Array(bconv2dThresholdScratchWords(g, outC)));
      const prog = [one, two].map((b, i) => {
        const ptr = b.heap.alloc(epilogueWords(3) * 4);
        writeEpilogue(b.heap, ptr, [
          { op: "batchnorm", mean: mean![i], invStd: invStd![i], gamma: gamma![i], beta: beta![i] },
          { op: "add", other: other[i] },
          { op: "pack", bits: bits[i], thresholds: 0 },
        ]);
        return ptr;
      });
      for (const scratch of [undefined, padded]) {
        same((pixels * outC) / 8, (be, i) => {
          be.binary.conv2dThreshold(g, padValue, outC, x[i], w[i], thr[i], flip[i], out[i], scratch?.[i]);
          return out[i];
        });
        same(pixels * outC * 4, (be, i) => {
          be.binary.conv2dAffine(g, padValue, outC, x[i], w[i], scale![i], bias![i], out[i], scratch?.[i]);
          return out[i];
        });
        same(pixels * words * 4, (be, i) => {
          be.binary.conv2dAffine(
            g,
            padValue,
            outC,
            x[i],
            w[i],
            scale![i],
            bias![i],
            out[i],
            scratch?.[i],
            prog[i],
          );
          return bits[i];
        });
      }
    }
  });

  it("binary convolution with the affine transform fused in (batch split by images, one image by rows)", () => {
    const rng = new Random(14);
    // The word tiles (64, 128 channels) and the 3x3 tiles (256) over the padded copy, pad 0 and +1.
    for (const [n, c, outC, padValue] of [
      [16, 128, 96, 0],
      [1, 64, 64, 0],
      [3, 256, 40, 1],
    ] as const) {
      const g = convGeometry(n, 28, 28, c, 3, 3, 1, 1, "same");
      const x = place(randomWords((n * 28 * 28 * c) / 32, rng));
      const w = place(randomWords((outC * 9 * c) / 32, rng));
      const scale = place(randomFloats(outC, rng));
      const bias = place(randomFloats(outC, rng));
      const out = place(new Float32Array(n * 28 * 28 * outC));
      const padded = place(new Uint32Array(bconv2dThresholdScratchWords(g, outC)));
      for (const scratch of [undefined, padded]) {
        same(n * 28 * 28 * outC * 4, (be, i) => {
          be.binary.conv2dAffine(g, padValue, outC, x[i], w[i], scale[i], bias[i], out[i], scratch?.[i]);
          return out[i];
        });
      }
    }
  });

  it("binary max-pool, packing and the output transforms", () => {
    const rng = new Random(13);
    const g = {
      n: 128,
      h: 56,
      w: 56,
      c: 512,
      kh: 2,
      kw: 2,
      strideH: 2,
      strideW: 2,
      padTop: 0,
      padLeft: 0,
      outH: 28,
      outW: 28,
    };
    const x = place(randomWords(128 * 56 * 56 * 16, rng));
    const y = place(new Uint32Array(128 * 28 * 28 * 16));
    same(128 * 28 * 28 * 16 * 4, (be, i) => {
      be.binary.maxPool(g, x[i], y[i]);
      return y[i];
    });
    const [rows, c] = [16384, 100];
    const f = place(randomFloats(rows * c, rng));
    const bits = place(new Uint32Array(rows * 4));
    same(rows * 4 * 4, (be, i) => {
      be.binary.pack(rows, c, f[i], bits[i]);
      return bits[i];
    });
    const dots = place(Uint32Array.from({ length: rows * c }, () => rng.int(200)));
    const thr = place(Uint32Array.from({ length: c }, () => rng.int(200)));
    const flip = place(randomWords(4, rng).map((w, j) => (j === 3 ? w & 0xf : w)));
    same(rows * 4 * 4, (be, i) => {
      be.binary.thresholdPack(rows, c, dots[i], thr[i], flip[i], bits[i]);
      return bits[i];
    });
    const scale = place(randomFloats(c, rng));
    same(rows * c * 4, (be, i) => {
      be.binary.affine(rows, c, dots[i], scale[i], scale[i], f[i]);
      return f[i];
    });
  });

  it("the scalar build on 2 threads", async () => {
    const [s1, s2] = [
      await createBackend("wasm-scalar", { threads: 1 }),
      await createBackend("wasm-scalar", { threads: 2 }),
    ];
    expect(s2.module?.shared).toBe(true);
    const before = dispatches.mock.calls.length;
    const [m, n, k] = [240, 200, 300];
    const outs = [s1, s2].map((be) => {
      const [a, b, c] = [m * k, k * n, m * n].map((len) => be.heap.alloc(len * 4));
      be.heap.f32At(a!, m * k).set(randomFloats(m * k, new Random(1)));
      be.heap.f32At(b!, k * n).set(randomFloats(k * n, new Random(2)));
      be.float.sgemm(false, false, m, n, k, 1, a!, k, b!, n, 0, c!, n);
      return Buffer.from(bytesOf(be, c!, m * n * 4));
    });
    expect(dispatches.mock.calls.length).toBeGreaterThan(before);
    expect(outs[1]!.equals(outs[0]!)).toBe(true);
    await s2.close?.();
  });

  it("a kernel that traps on any thread makes run throw, and the pool keeps working", async () => {
    const pool = await KernelPool.create(two.module!, 2, 1024);
    // Past any size the heap can grow to (the allocations below grow it): always out of bounds.
    const outside = 0xffff_ff00;
    const bad: Call[][] = [0, 1, 2, 3].map(() => [["float_fill", 16, 1, outside]]);
    expect(() => pool.run(bad)).toThrow(/out of bounds/);
    // One bad chunk among slow ones: whichever thread claims it, its message reaches the caller.
    const p0 = two.heap.alloc(1 << 22);
    const oneBad: Call[][] = [0, 1, 2, 3].map((i) =>
      i === 2 ? [["float_fill", 16, 1, outside]] : [["float_fill", 1 << 20, i, p0]],
    );
    for (let r = 0; r < 8; r++) expect(() => pool.run(oneBad)).toThrow(/out of bounds/);
    two.heap.free(p0);
    const p = two.heap.alloc(64 * 4);
    pool.run([0, 1, 2, 3].map((i) => [["float_fill", 16, i + 1, p + i * 64]]));
    expect(Array.from(two.heap.f32At(p, 64)).filter((v, i) => v === (i >> 4) + 1)).toHaveLength(64);
    await pool.close();
    expect(() => pool.run([])).toThrow(/closed/);
    two.heap.free(p);
  });

  it("batch norm and column reductions, split over blocks of columns", () => {
    const rng = new Random(6);
    const rows = 64 * 13 * 13;
    const cols = 48;
    const x = place(randomFloats(rows * cols, rng));
    const dy = place(randomFloats(rows * cols, rng));
    const gamma = place(randomFloats(cols, rng));
    const stats = place(new Float32Array(4 * cols));
    const xhat = place(new Float32Array(rows * cols));
    const dx = place(new Float32Array(rows * cols));
    same(4 * cols * 4, (be, i) => {
      const s = stats[i];
      be.float.meanVarRows(rows, cols, x[i], s, s + cols * 4);
      be.float.sumRows(rows, cols, dy[i], s + 2 * cols * 4);
      return s;
    });
    same(rows * cols * 4, (be, i) => {
      const s = stats[i];
      be.float.batchNormForward(rows, cols, x[i], s, gamma[i], gamma[i], gamma[i], dx[i], xhat[i]);
      be.float.batchNormBackward(
        rows,
        cols,
        dy[i],
        xhat[i],
        gamma[i],
        gamma[i],
        dx[i],
        s + 2 * cols * 4,
        s + 3 * cols * 4,
      );
      return dx[i];
    });
  });

  it("sign patterns of a binary convolution from packed bits, split over rows of 8 pixels", () => {
    const g = convGeometry(64, 26, 26, 64, 3, 3, 1, 1, "same");
    const words = g.n * g.h * g.w * 2;
    const bits = new Uint32Array(words);
    const rng = new Random(8);
    for (let i = 0; i < words; i++) bits[i] = Math.floor(rng.next() * 2 ** 32) >>> 0;
    const xb = place(bits);
    const bytes = Math.ceil((g.n * g.outH * g.outW) / 8) * 9 * 64;
    const pat = place(new Float32Array(Math.ceil(bytes / 4)));
    same(bytes, (be, i) => {
      signGemmKernels(be).convPatterns(g, 1, xb[i], pat[i]);
      return pat[i];
    });
  });

  it("a binary convolution's input gradient with col2im fused, split over blocks of images", () => {
    const g = convGeometry(64, 13, 13, 32, 3, 3, 1, 1, "valid");
    const rows = 64 * 11 * 11;
    const o = 64;
    const k = 288;
    const rng = new Random(9);
    const dy = place(randomFloats(rows * o, rng));
    const w = place(randomFloats(o * k, rng));
    const dx = place(new Float32Array(64 * 13 * 13 * 32));
    same(64 * 13 * 13 * 32 * 4, (be, i) => {
      const sg = signGemmKernels(be);
      const pat = be.heap.alloc(((o + 7) >> 3) * k);
      const scratch = be.heap.alloc(sg.scratchBytes(k));
      sg.patterns(o, k, w[i], pat);
      sg.gemmCol2im(g, o, dy[i], pat, scratch, dx[i]);
      be.heap.free(pat);
      be.heap.free(scratch);
      return dx[i];
    });
  });

  it("arguments of -1 (a pad value) pass through a split job unchanged", () => {
    const g = convGeometry(64, 13, 13, 32, 3, 3, 1, 1, "same");
    const rng = new Random(12);
    const x = place(randomFloats(64 * 13 * 13 * 32, rng));
    const colsBytes = 64 * 13 * 13 * 9 * 32 * 4;
    const cols = place(new Float32Array(colsBytes / 4));
    same(colsBytes, (be, i) => {
      be.float.im2col(g, x[i], -1, cols[i]);
      return cols[i];
    });
    // And the padding positions hold -1 (the first column of the first pixel is one).
    expect(two.heap.f32At(cols[1], 1)[0]).toBe(-1);
  });

  it("float max-pool forward and backward, split over images", () => {
    const rng = new Random(5);
    const g = convGeometry(64, 26, 26, 32, 2, 2, 2, 2, "valid");
    const xs = 64 * 26 * 26 * 32;
    const ys = 64 * 13 * 13 * 32;
    const x = place(randomFloats(xs, rng));
    const dy = place(randomFloats(ys, rng));
    const y = place(new Float32Array(ys));
    const arg = place(new Float32Array(ys));
    const dx = place(new Float32Array(xs));
    same(ys * 4, (be, i) => {
      be.float.maxPool(g, x[i], y[i], arg[i]);
      return arg[i];
    });
    same(xs * 4, (be, i) => {
      be.float.maxPoolBackward(g, dy[i], arg[i], dx[i], true);
      be.float.maxPoolBackward(g, dy[i], arg[i], dx[i], false);
      return dx[i];
    });
  });

  it("one image's float max-pool (values and argmax), average pool and depthwise conv, split over output rows", () => {
    const rng = new Random(6);
    // The stems' shapes: Bi-Real's 3x3/2 'same' max-pool, QuickNet's depthwise 3x3/2.
    const g = convGeometry(1, 112, 112, 64, 3, 3, 2, 2, "same");
    const xs = 112 * 112 * 64;
    const ys = 56 * 56 * 64;
    const x = place(randomFloats(xs, rng));
    const y = place(new Float32Array(ys));
    const arg = place(new Float32Array(ys));
    const w = place(randomFloats(9 * 64, rng));
    same(ys * 4, (be, i) => {
      be.float.maxPool(g, x[i], y[i], arg[i]);
      return arg[i];
    });
    for (const run of [
      (be: Backend, i: 0 | 1) => be.float.maxPool(g, x[i], y[i], 0),
      (be: Backend, i: 0 | 1) => be.float.avgPool(g, x[i], y[i]),
      (be: Backend, i: 0 | 1) => be.float.depthwise(g, x[i], w[i], y[i]),
    ]) {
      same(ys * 4, (be, i) => {
        run(be, i);
        return y[i];
      });
    }
  });

  it("a conv layer's forward, dx and dW", () => {
    const results = [one, two].map((be) => {
      const ctx = new Context(be);
      const rng = new Random(11);
      return ctx.tidy(() => {
        const x = ctx.parameter(ctx.randn([32, 28, 28, 16], rng, 1));
        const w = ctx.parameter(ctx.randn([32, 3, 3, 16], rng, 0.3));
        const y = conv2d(x, w, { padding: "same" });
        mean(square(y)).backward();
        const out = [y.toArray(), x.grad!.toArray(), w.grad!.toArray()];
        return out.map((t) => Buffer.from(t.buffer));
      });
    });
    for (let i = 0; i < 3; i++) expect(results[1]![i]!.equals(results[0]![i]!), `output ${i}`).toBe(true);
  });

  it("an engine forward at batch 64 (fused float first layer, binary convs, dense)", async () => {
    const bytes = new Uint8Array(readFileSync(path.join(ROOT, "web/public/models/mnist-bnn-cnn.onebit")));
    const rng = new Random(19);
    const images = Uint8Array.from({ length: 64 * 784 }, () => rng.int(256));
    const [e1, e2] = [await Engine.load(bytes, { threads: 1 }), await Engine.load(bytes, { threads: 2 })];
    expect(e2.backend.threads).toBe(2);
    const before = dispatches.mock.calls.length;
    const [p1, p2] = [e1.predict(images), e2.predict(images)];
    expect(dispatches.mock.calls.length).toBeGreaterThan(before);
    expect(Buffer.from(p2.scores.buffer).equals(Buffer.from(p1.scores.buffer))).toBe(true);
    e1.dispose();
    e2.dispose();
  });

  const models: [string, ModelConfig, number, number[]][] = [
    ["bnn-cnn", { builder: "bnn-cnn", options: {} }, 64, [28, 28, 1]],
    ["bnn-mlp", { builder: "bnn-mlp", options: { width: 1024 } }, 100, [28, 28, 1]],
  ];
  it.each(models)("two training steps of %s", (_name, config, batch, shape) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const data = new Random(1);
    const x = randomFloats(batch * size, data);
    const labels = Int32Array.from({ length: batch }, () => data.int(10));
    const before = dispatches.mock.calls.length;
    const params = [one, two].map((be) => {
      const ctx = new Context(be);
      const model = buildModel(ctx, config, new Random(2));
      const opt = adam(ctx, model.params());
      for (let step = 0; step < 2; step++) {
        ctx.tidy(() => {
          const logits = model.forward(ctx.fromArray(x, [batch, ...shape]), {
            training: true,
            rng: new Random(4),
          });
          const loss = softmaxCrossEntropy(logits, labels);
          for (const p of model.params()) p.tensor.zeroGrad();
          loss.backward();
          ctx.noGrad(() => opt.step(1e-3));
        });
      }
      const values = model.params().map((p) => Buffer.from(p.tensor.toArray().buffer));
      opt.dispose();
      model.dispose();
      return values;
    });
    expect(dispatches.mock.calls.length).toBeGreaterThan(before);
    expect(params[1]!.length).toBe(params[0]!.length);
    for (const [i, p] of params[0]!.entries()) expect(params[1]![i]!.equals(p), `parameter ${i}`).toBe(true);
  });
});
