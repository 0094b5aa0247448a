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
  bconv2dTableBytes,
  isPointwise,
  type PadValue,
  preferIm2col,
} from "../binaryTypes.js";
import { wordsPerPixel } from "../bits.js";
import { geometryArgs } from "../geometry.js";
import { type Call, type KernelPool, SCRATCH } from "../threads/pool.js";
import { COST, chunksFor, splitRange } from "../threads/split.js";
import type { BackendName, Window2D } from "../types.js";
import type { KernelModule } from "./module.js";

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
  const name: BackendName = mod.flavor === "simd" ? "wasm-simd" : "wasm-scalar";
  const threads = pool?.threads ?? 1;
  const slow = mod.flavor === "simd" ? 1 : COST.scalarFactor;
  /** Parts of [0, total) for a job of `micros` (one thread), or undefined to run it whole. */
  const partition = (micros: number, total: number, unit = 1): [number, number][] | undefined => {
    if (!pool) return undefined;
    const ranges = splitRange(total, chunksFor(threads, micros * slow), unit);
    return ranges.length >= 2 ? ranges : undefined;
  };
  const overRows = (rows: number, bytesPerRow: number, call: (start: number, count: number) => Call) => {
    const ranges = partition((rows * bytesPerRow) / COST.bytes, rows);
    if (!ranges) return false;
    pool!.run(ranges.map(([s0, s1]) => [call(s0, s1 - s0)]));
    return true;
  };
  const bgemmCalls = (m: number, n: number, words: number, k: number, a: number, b: number, out: number) => {
    const micros = (m * n * k) / COST.bgemmMacs;
    // Output rows are independent; a single row (batch 1) splits over its columns instead.
    const ranges = m === 1 ? partition(micros, n, 4) : partition(micros, m, 4);
    if (!ranges) return undefined;
    return ranges.map(([s0, s1]): Call[] =>
      m === 1
        ? [["bgemm", 1, s1 - s0, words, k, a, b + s0 * words * 4, out + s0 * 4]]
        : [["bgemm", s1 - s0, n, words, k, a + s0 * words * 4, b, out + s0 * n * 4]],
    );
  };
  const bgemm = (m: number, n: number, words: number, k: number, a: number, b: number, out: number) => {
    checkCounts("bgemm", { m, n, words, k });
    if (k > words * 32) throw new RangeError(`bgemm: k = ${k} bits do not fit in ${words} words`);
    const parts = bgemmCalls(m, n, words, k, a, b, out);
    if (parts) pool!.run(parts);
    else e.bgemm!(m, n, words, k, a, b, out);
  };
  const im2col = (g: Window2D, padValue: PadValue, x: number, cols: number) => {
    checkPad(padValue);
    e.bitIm2col!(...geometryArgs(g), padValue === 1 ? 1 : 0, x, cols);
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
    const taps = g.kh * g.kw;
    const words = taps * wordsPerPixel(g.c);
    const pixels = g.outH * g.outW;
    const padded =
      g.padTop > 0 ||
      g.padLeft > 0 ||
      (g.outH - 1) * g.strideH - g.padTop + g.kh > g.h ||
      (g.outW - 1) * g.strideW - g.padLeft + g.kw > g.w;
    const correct = padValue === 0 && padded;
    const calls = (n: number, xs: number, cs: number, os: number): Call[] => {
      const sub = geometryArgs({ ...g, n });
      const list: Call[] = [
        ["bitIm2col", ...sub, padValue === 1 ? 1 : 0, xs, cs],
        ["bgemm", n * pixels, outC, words, taps * g.c, cs, weights, os],
      ];
      if (correct) list.push(["bitZeroPadCorrection", ...sub, outC, weights, os]);
      return list;
    };
    const images = g.n >= 2 ? partition((g.n * pixels * outC * taps * g.c) / COST.bgemmMacs, g.n) : undefined;
    if (!images) {
      im2col(g, padValue, x, cols);
      bgemm(g.n * pixels, outC, words, taps * g.c, cols, weights, out);
      if (correct) e.bitZeroPadCorrection!(...geometryArgs(g), outC, weights, out);
      return;
    }
    const inImage = g.h * g.w * wordsPerPixel(g.c) * 4;
    pool!.run(
      images.map(([s0, s1]): Call[] =>
        calls(s1 - s0, x + s0 * inImage, cols + s0 * pixels * words * 4, out + s0 * pixels * outC * 4),
      ),
    );
  };
  /**
   * bitConv2d (assembly/binary/conv.ts) on the pool: batches split over images, a single
   * image over its output rows; each output value is computed whole by one thread. With
   * `scratch` (thresholds only, paddedConvFits), the input is first copied with its border
   * (bitPadImages, per image chunk) and every pixel runs in the fast kernel.
   */
  const directConv = (
    g: Window2D,
    padValue: PadValue,
    outC: number,
    x: number,
    weights: number,
    thr: number,
    flip: number,
    out: number,
    scratch = 0,
  ) => {
    const copyWords = thr && scratch ? bconv2dPaddedWords(g) : 0;
    const tableBytes = bconv2dTableBytes(g, outC);
    const padImage = (g.outH + 2) * (g.outW + 2) * wordsPerPixel(g.c) * 4;
    const inImage = g.h * g.w * wordsPerPixel(g.c) * 4;
    const outImage = g.outH * g.outW * (thr ? wordsPerPixel(outC) : outC) * 4;
    const padArgs = (count: number, xs: number, ps: number) => bitPadImagesArgs(g, padValue, count, xs, ps);
    const padCall = (count: number, xs: number, ps: number): Call => [
      "bitPadImages",
      ...padArgs(count, xs, ps),
    ];
    const call = (
      sub: Window2D,
      xs: number,
      os: number,
      r0: number,
      r1: number,
      ps: number,
      table: number,
    ): Call => [
      "bitConv2d",
      ...geometryArgs(sub),
      padValue,
      outC,
      xs,
      weights,
      thr,
      flip,
      os,
      r0,
      r1,
      ps,
      table,
    ];
    const micros = (g.n * g.outH * g.outW * outC * g.kh * g.kw * g.c) / COST.bgemmMacs;
    const parts = partition(micros, g.n >= 2 ? g.n : g.outH);
    // Threads build their pad-0 thresholds in their own scratch; where it is too small,
    // they run without the copy.
    const onPool = parts !== undefined && copyWords > 0 && tableBytes <= pool!.scratchBytes;
    if (!parts) {
      if (copyWords) e.bitPadImages!(...padArgs(g.n, x, scratch));
      const table = scratch + copyWords * 4;
      e.bitConv2d!(
        ...geometryArgs(g),
        padValue,
        outC,
        x,
        weights,
        thr,
        flip,
        out,
        0,
        g.outH,
        copyWords ? scratch : 0,
        table,
      );
      return;
    }
    const xpad = onPool ? scratch : 0;
    if (g.n < 2) {
      if (xpad) e.bitPadImages!(...padArgs(1, x, xpad));
      pool!.run(parts.map(([r0, r1]): Call[] => [call(g, x, out, r0, r1, xpad, SCRATCH)]));
      return;
    }
    pool!.run(
      parts.map(([s0, s1]): Call[] => {
        const xs = x + s0 * inImage;
        const ps = xpad ? xpad + s0 * padImage : 0;
        const conv = call({ ...g, n: s1 - s0 }, xs, out + s0 * outImage, 0, g.outH, ps, SCRATCH);
        return xpad ? [padCall(s1 - s0, xs, ps), conv] : [conv];
      }),
    );
  };
  return {
    name,
    heap: mod.heap,
    pack(rows, c, x, bits) {
      checkCounts("pack", { rows, c });
      const words = (c + 31) >>> 5;
      if (overRows(rows, c * 4, (s, len) => ["bitPack", len, c, x + s * c * 4, bits + s * words * 4])) return;
      e.bitPack!(rows, c, x, bits);
    },
    unpack(rows, c, bits, out) {
      checkCounts("unpack", { rows, c });
      const words = (c + 31) >>> 5;
      if (overRows(rows, c * 4, (s, len) => ["bitUnpack", len, c, bits + s * words * 4, out + s * c * 4]))
        return;
      e.bitUnpack!(rows, c, bits, out);
    },
    bgemm,
    im2col,
    conv2d(g, padValue, outC, x, weights, cols, out) {
      checkPad(padValue);
      checkCounts("conv2d", { outC });
      // A 1x1 stride-1 conv without padding is a GEMM over the input as it lies.
      if (isPointwise(g)) bgemm(g.n * g.h * g.w, outC, wordsPerPixel(g.c), g.c, x, weights, out);
      else if (cols && preferIm2col(g)) im2colConv(g, padValue, outC, x, weights, cols, out);
      else directConv(g, padValue, outC, x, weights, 0, 0, out);
    },
    conv2dThreshold(g, padValue, outC, x, weights, thr, flip, out, scratch = 0) {
      checkPad(padValue);
      checkCounts("conv2dThreshold", { outC });
      directConv(g, padValue, outC, x, weights, thr, flip, out, scratch);
    },
    thresholdPack(rows, c, x, thr, flip, out) {
      checkCounts("thresholdPack", { rows, c });
      const words = (c + 31) >>> 5;
      const split = overRows(rows, c * 4, (s, len) => [
        "bitThreshold",
        len,
        c,
        x + s * c * 4,
        thr,
        flip,
        out + s * words * 4,
      ]);
      if (!split) e.bitThreshold!(rows, c, x, thr, flip, out);
    },
    affine(rows, c, x, scale, bias, out) {
      checkCounts("affine", { rows, c });
      const split = overRows(rows, c * 8, (s, len) => [
        "bitAffine",
        len,
        c,
        x + s * c * 4,
        scale,
        bias,
        out + s * c * 4,
      ]);
      if (!split) e.bitAffine!(rows, c, x, scale, bias, out);
    },
    maxPool(g, x, y) {
      checkPoolWindows(g);
      const words = wordsPerPixel(g.c) * 4;
      const [inImage, outImage] = [g.h * g.w * words, g.outH * g.outW * words];
      const images =
        g.n >= 2 ? partition((g.n * g.outH * g.outW * g.kh * g.kw * words) / COST.bytes, g.n) : undefined;
      if (!images) {
        e.bitMaxPool!(...geometryArgs(g), x, y);
        return;
      }
      pool!.run(
        images.map(([s0, s1]): Call[] => [
          ["bitMaxPool", ...geometryArgs({ ...g, n: s1 - s0 }), x + s0 * inImage, y + s0 * outImage],
        ]),
      );
    },
  };
}

/**
 * The arguments of bitPadImages (assembly/binary/conv.ts) for `count` images of g's input
 * at xs, copied with their border (the pad bit of padValue) to ps.
 */
export function bitPadImagesArgs(
  g: Window2D,
  padValue: PadValue,
  count: number,
  xs: number,
  ps: number,
): number[] {
  return [count, g.h, g.w, g.c, g.padTop, g.padLeft, g.outH, g.outW, padValue === 1 ? 1 : 0, xs, ps];
}
