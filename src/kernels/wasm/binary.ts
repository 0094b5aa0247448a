/**
 * The binary kernels in WebAssembly (assembly/binary): thin wrappers that check shapes,
 * do the geometry in TypeScript and pass pointers. The convolution is direct
 * (assembly/binary/conv.ts: no im2col copy, padding counted in place), optionally with the
 * threshold output transform fused in; a 1x1 stride-1 conv without padding is the GEMM.
 *
 * With a thread pool, large jobs are split: the GEMM over output rows (or columns for a
 * single row), the convolution over images (a single image over output rows), max-pool
 * over images, packing and the output transforms over rows. The results are integers or
 * per-element float steps: identical for any thread count.
 */
import {
  type BinaryKernels,
  bconv2dPaddedWords,
  isPointwise,
  type PadValue,
  paddedConvFits,
  preferIm2col,
} from "../binaryTypes.js";
import { wordsPerPixel } from "../bits.js";
import type { KernelPool } from "../threads/pool.js";
import { COST } from "../threads/split.js";
import type { BackendName, Window2D } from "../types.js";
import {
  affineJob,
  bgemmJob,
  bgemmRowJob,
  bitConv2dCall,
  type DirectConv,
  directConvJob,
  directConvRowsJob,
  fusedTransform,
  im2colConvSteps,
  im2colJob,
  maxPoolJob,
  packJob,
  padImagesCall,
  threadCopy,
  thresholdJob,
  unpackJob,
} from "./binaryCalls.js";
import { byImages, invoke, partition, type Runner, runJob } from "./calls.js";
import { backendName, type KernelModule } from "./module.js";

function checkPad(padValue: number): void {
  if (padValue !== -1 && padValue !== 0 && padValue !== 1) {
    throw new RangeError(`binary conv: padValue must be -1, 0 or +1, got ${padValue}`);
  }
}

function checkCounts(kernel: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`${kernel}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/** Every window must overlap the image, or its max would be taken over nothing. */
function checkPoolWindows(g: Window2D): void {
  const lastY = (g.outH - 1) * g.strideH - g.padTop;
  const lastX = (g.outW - 1) * g.strideW - g.padLeft;
  if (g.padTop >= g.kh || g.padLeft >= g.kw || lastY >= g.h || lastX >= g.w) {
    throw new RangeError(`binary maxPool: a ${g.kh}x${g.kw} window lies entirely in padding`);
  }
}

/** Binary kernels over a loaded kernel module (its heap is the kernels' heap), split across `pool` when given. */
export function createWasmBinaryKernels(mod: KernelModule, pool?: KernelPool): BinaryKernels {
  const e = mod.exports;
  const name: BackendName = backendName(mod.flavor);
  const runner: Runner = { exports: e, pool, slowdown: mod.flavor === "scalar" ? COST.scalarFactor : 1 };
  const bgemm = (m: number, n: number, words: number, k: number, a: number, b: number, out: number) => {
    checkCounts("bgemm", { m, n, words, k });
    if (k > words * 32) throw new RangeError(`bgemm: k = ${k} bits do not fit in ${words} words`);
    // Output rows are independent; a single row (batch 1) splits over its columns instead.
    runJob(runner, m === 1 ? bgemmRowJob(n, words, k, a, b, out) : bgemmJob(m, n, words, k, a, b, out));
  };
  const im2col = (g: Window2D, padValue: PadValue, x: number, cols: number) => {
    checkPad(padValue);
    invoke(e, im2colJob(g, padValue, x, cols).part(0, g.n)[0]!);
  };
  /** im2col, GEMM and the zero-padding correction, each thread on its own images. */
  const im2colConv = (
    g: Window2D,
    padValue: PadValue,
    outC: number,
    x: number,
    weights: number,
    cols: number,
    out: number,
  ) => {
    const [cut, product, ...rest] = im2colConvSteps(g, padValue, outC, x, weights, cols, out);
    // Too little work to cut by images (or one image): the GEMM may still split over its rows.
    runJob(runner, byImages(g.n, cut!, product!, ...rest), () => {
      invoke(e, cut!.part(0, g.n)[0]!);
      runJob(runner, product!);
      for (const j of rest) invoke(e, j.part(0, g.n)[0]!);
    });
  };
  /**
   * bitConv2d (assembly/binary/conv.ts) on the pool: batches split over images, a single
   * image over its output rows; each output value is computed whole by one thread. With
   * `scratch` (a fused transform, paddedConvFits), the input is first copied with its border
   * (bitPadImages, per image chunk) and every pixel runs in the fast kernel; threads read
   * the tables convTables made (`p.tables`) or build their own in their scratch, and where
   * it is too small they run without the copy (threadCopy).
   */
  const directConv = (p: DirectConv, scratch = 0) => {
    const g = p.g;
    const padded = threadCopy(p, scratch, pool?.scratchBytes ?? 0);
    const split = g.n >= 2 ? directConvJob(p, padded) : directConvRowsJob(p, padded, pool?.threads ?? 1);
    const ranges = partition(runner, split);
    if (!ranges) {
      const copy = fusedTransform(p) && scratch ? bconv2dPaddedWords(g) : 0;
      if (copy) invoke(e, padImagesCall(g, p.padValue, 0, g.n, p.x, scratch));
      invoke(e, bitConv2dCall(p, 0, g.n, 0, g.outH, copy ? scratch : 0, scratch + copy * 4));
      return;
    }
    if (g.n < 2 && padded) invoke(e, padImagesCall(g, p.padValue, 0, 1, p.x, padded));
    pool!.run(ranges.map(([s0, s1]) => split.part(s0, s1)));
  };
  return {
    name,
    heap: mod.heap,
    pack(rows, c, x, bits) {
      checkCounts("pack", { rows, c });
      runJob(runner, packJob(rows, c, x, bits));
    },
    unpack(rows, c, bits, out) {
      checkCounts("unpack", { rows, c });
      runJob(runner, unpackJob(rows, c, bits, out));
    },
    bgemm,
    im2col,
    conv2d(g, padValue, outC, x, weights, cols, out) {
      checkPad(padValue);
      checkCounts("conv2d", { outC });
      // A 1x1 stride-1 conv without padding is a GEMM over the input as it lies.
      if (isPointwise(g)) bgemm(g.n * g.h * g.w, outC, wordsPerPixel(g.c), g.c, x, weights, out);
      else if (cols && preferIm2col(g)) im2colConv(g, padValue, outC, x, weights, cols, out);
      else directConv({ g, padValue, outC, x, weights, thr: 0, flip: 0, out });
    },
    conv2dThreshold(g, padValue, outC, x, weights, thr, flip, out, scratch = 0, tables = 0) {
      checkPad(padValue);
      checkCounts("conv2dThreshold", { outC });
      directConv({ g, padValue, outC, x, weights, thr, flip, out, tables }, scratch);
    },
    convTablesBytes: (outC) => e.bitConvTablesBytes(outC),
    convTables(g, padValue, outC, weights, thr, tables) {
      checkPad(padValue);
      checkCounts("convTables", { outC });
      if (paddedConvFits(g)) e.bitConvTables(g.c, outC, padValue, weights, thr, thr ? 0 : 1, tables);
    },
    conv2dAffine(g, padValue, outC, x, weights, scale, bias, out, scratch = 0, epilogue = 0, tables = 0) {
      checkPad(padValue);
      checkCounts("conv2dAffine", { outC });
      directConv(
        { g, padValue, outC, x, weights, thr: 0, flip: 0, out, scale, bias, epilogue, tables },
        scratch,
      );
    },
    thresholdPack(rows, c, x, thr, flip, out) {
      checkCounts("thresholdPack", { rows, c });
      runJob(runner, thresholdJob(rows, c, x, thr, flip, out));
    },
    affine(rows, c, x, scale, bias, out) {
      checkCounts("affine", { rows, c });
      runJob(runner, affineJob(rows, c, x, scale, bias, out));
    },
    maxPool(g, x, y) {
      checkPoolWindows(g);
      runJob(runner, maxPoolJob(g, x, y));
    },
  };
}
