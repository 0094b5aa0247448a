/**
 * The calls of the binary kernels (assembly/binary), one builder per kernel: the wrappers
 * (binary.ts) run them and the engine records them per layer (calls.ts says how). Each
 * builder cuts along the axis whose outputs are independent: rows for packing, the GEMM
 * and the output transforms; images for the window kernels. Pointers advance by the
 * bytes of the units skipped; every output value is computed whole by one part.
 */
import { bconv2dPaddedWords, bconv2dTableBytes, type PadValue } from "../binaryTypes.js";
import { wordsPerPixel } from "../bits.js";
import { geometryArgs, readsPadding } from "../geometry.js";
import { SCRATCH } from "../threads/protocol.js";
import { COST } from "../threads/split.js";
import type { Window2D } from "../types.js";
import { type Call, type Job, job } from "./calls.js";

const streamed = (bytes: number) => bytes / COST.bytes;
const words = (c: number) => (c + 31) >>> 5;
/** Bytes of one image of g's input, and of its output with `perPixel` words (or int32) a pixel. */
const inImage = (g: Window2D) => g.h * g.w * wordsPerPixel(g.c) * 4;
const outImage = (g: Window2D, perPixel: number) => g.outH * g.outW * perPixel * 4;

/** bitPack: bits [rows, ceil(c/32)] from float32 x [rows, c]. */
export function packJob(rows: number, c: number, x: number, bits: number): Job {
  return job(rows, 1, streamed(rows * c * 4), (s, e) => [
    "bitPack",
    e - s,
    c,
    x + s * c * 4,
    bits + s * words(c) * 4,
  ]);
}

/** bitUnpack: float32 out [rows, c] of bits [rows, ceil(c/32)]. */
export function unpackJob(rows: number, c: number, bits: number, out: number): Job {
  return job(rows, 1, streamed(rows * c * 4), (s, e) => [
    "bitUnpack",
    e - s,
    c,
    bits + s * words(c) * 4,
    out + s * c * 4,
  ]);
}

/** bitThreshold: packed out [rows, ceil(c/32)] of int32 x [rows, c]. */
export function thresholdJob(
  rows: number,
  c: number,
  x: number,
  thr: number,
  flip: number,
  out: number,
): Job {
  return job(rows, 1, streamed(rows * c * 4), (s, e) => [
    "bitThreshold",
    e - s,
    c,
    x + s * c * 4,
    thr,
    flip,
    out + s * words(c) * 4,
  ]);
}

/** bitAffine: float32 out [rows, c] of int32 x [rows, c]. */
export function affineJob(rows: number, c: number, x: number, scale: number, bias: number, out: number): Job {
  return job(rows, 1, streamed(rows * c * 8), (s, e) => [
    "bitAffine",
    e - s,
    c,
    x + s * c * 4,
    scale,
    bias,
    out + s * c * 4,
  ]);
}

/** bitXorRows: out [rows, words] = x XOR mask [words] (in place when out = x). */
export function xorRowsJob(rows: number, w: number, x: number, mask: number, out: number): Job {
  return job(rows, 1, streamed(rows * w * 8), (s, e) => [
    "bitXorRows",
    e - s,
    w,
    x + s * w * 4,
    mask,
    out + s * w * 4,
  ]);
}

const bgemmMicros = (m: number, n: number, k: number) => (m * n * k) / COST.bgemmMacs;

/** bgemm: int32 out [m, n] of packed a [m, words] and b [n, words], over rows of a (in 4s, its tiles). */
export function bgemmJob(m: number, n: number, w: number, k: number, a: number, b: number, out: number): Job {
  return job(m, 4, bgemmMicros(m, n, k), (s, e) => [
    "bgemm",
    e - s,
    n,
    w,
    k,
    a + s * w * 4,
    b,
    out + s * n * 4,
  ]);
}

/** bgemm of a single row (batch 1) over the columns of its output, in 4s. */
export function bgemmRowJob(n: number, w: number, k: number, a: number, b: number, out: number): Job {
  return job(n, 4, bgemmMicros(1, n, k), (s, e) => ["bgemm", 1, e - s, w, k, a, b + s * w * 4, out + s * 4]);
}

/** bitMaxPool: packed y [n, outH, outW, ceil(c/32)] of packed x, over images. */
export function maxPoolJob(g: Window2D, x: number, y: number): Job {
  const bytes = wordsPerPixel(g.c) * 4;
  return job(g.n, 1, streamed(g.n * g.outH * g.outW * g.kh * g.kw * bytes), (s, e) => [
    "bitMaxPool",
    ...geometryArgs(g, e - s),
    x + s * inImage(g),
    y + s * outImage(g, wordsPerPixel(g.c)),
  ]);
}

/** Words of one im2col row: kh * kw taps of ceil(c/32) words. */
const im2colWords = (g: Window2D) => g.kh * g.kw * wordsPerPixel(g.c);

/** bitIm2col: cols [n*outH*outW, kh*kw*ceil(c/32)] of packed x, over images. */
export function im2colJob(g: Window2D, padValue: PadValue, x: number, cols: number): Job {
  return job(g.n, 1, streamed(g.n * outImage(g, im2colWords(g)) * 2), (s, e) => [
    "bitIm2col",
    ...geometryArgs(g, e - s),
    padValue === 1 ? 1 : 0,
    x + s * inImage(g),
    cols + s * outImage(g, im2colWords(g)),
  ]);
}

/** bitZeroPadCorrection: adds pad 0's per-position term to int32 out [n, outH, outW, outC], over images. */
export function zeroPadCorrectionJob(g: Window2D, outC: number, weights: number, out: number): Job {
  return job(g.n, 1, streamed(g.n * outImage(g, outC) * 2), (s, e) => [
    "bitZeroPadCorrection",
    ...geometryArgs(g, e - s),
    outC,
    weights,
    out + s * outImage(g, outC),
  ]);
}

/**
 * A direct convolution's operands (assembly/binary/conv.ts bitConv2d): thresholds (thr,
 * flip: packed output), or the affine transform (scale, bias: float32 output), or neither
 * (int32 output).
 */
export interface DirectConv {
  readonly g: Window2D;
  readonly padValue: PadValue;
  readonly outC: number;
  readonly x: number;
  readonly weights: number;
  readonly thr: number;
  readonly flip: number;
  readonly out: number;
  readonly scale?: number;
  readonly bias?: number;
  /** An epilogue program in the heap (kernels/epilogue.ts; affine form only), 0 or absent: none. */
  readonly epilogue?: number;
  /** The padded copy's tables made once by bitConvTables (BinaryKernels.convTables), 0 or absent: each call makes its own. */
  readonly tables?: number;
}

/** True when the conv's output transform is fused in (and it may run over a padded copy). */
export const fusedTransform = (p: DirectConv) => p.thr !== 0 || (p.scale ?? 0) !== 0;

/**
 * bitConv2d over images [s, e), output rows [r0, r1) of each, filters [f0, f1) (f0 a
 * multiple of 32, f1 too or outC); `padded` is the padded copy of images [0, ...)
 * (bitPadImages; 0: read x itself) and `table` the kernel's scratch (bconv2dTableBytes)
 * behind it.
 */
export function bitConv2dCall(
  p: DirectConv,
  s: number,
  e: number,
  r0: number,
  r1: number,
  padded: number,
  table: number,
  f0 = 0,
  f1 = p.outC,
): Call {
  const perPixel = p.thr ? words(p.outC) : p.outC;
  return [
    "bitConv2d",
    ...geometryArgs(p.g, e - s),
    p.padValue,
    p.outC,
    p.x + s * inImage(p.g),
    p.weights,
    p.thr,
    p.flip,
    p.out + s * outImage(p.g, perPixel),
    r0,
    r1,
    padded ? padded + s * paddedImageBytes(p.g) : 0,
    table,
    p.tables ?? 0,
    p.scale ?? 0,
    p.bias ?? 0,
    p.epilogue ?? 0,
    s * p.g.outH * p.g.outW,
    f0,
    f1,
  ];
}

/** Bytes of one image's padded copy (one pixel of border a side). */
function paddedImageBytes(g: Window2D): number {
  return (g.outH + 2) * (g.outW + 2) * wordsPerPixel(g.c) * 4;
}

/** bitPadImages: images [s, e) of g's input x copied with their border (padValue's bit) into `padded`. */
export function padImagesCall(
  g: Window2D,
  padValue: PadValue,
  s: number,
  e: number,
  x: number,
  padded: number,
): Call {
  return [
    "bitPadImages",
    e - s,
    g.h,
    g.w,
    g.c,
    g.padTop,
    g.padLeft,
    g.outH,
    g.outW,
    padValue === 1 ? 1 : 0,
    x + s * inImage(g),
    padded + s * paddedImageBytes(g),
  ];
}

/**
 * Where the threads' parts of a direct conv keep the padded copy: `scratch` (the caller's
 * block of bconv2dThresholdScratchWords) when the conv has a fused transform and a copy, and the
 * kernel's table fits each thread's scratch (`threadScratchBytes`); else 0, no copy.
 */
export function threadCopy(p: DirectConv, scratch: number, threadScratchBytes: number): number {
  const fits = bconv2dPaddedWords(p.g) > 0 && bconv2dTableBytes(p.g, p.outC) <= threadScratchBytes;
  return fusedTransform(p) && scratch && fits ? scratch : 0;
}

const convMicros = (p: DirectConv) =>
  (p.g.n * p.g.outH * p.g.outW * p.outC * p.g.kh * p.g.kw * p.g.c) / COST.bgemmMacs;

/** The direct conv over images, each part copying its own images first when `padded` (threadCopy). */
export function directConvJob(p: DirectConv, padded: number): Job {
  return {
    units: p.g.n,
    unit: 1,
    micros: convMicros(p),
    threadScratch: padded ? bconv2dTableBytes(p.g, p.outC) : 0,
    part: (s, e) => {
      const conv = bitConv2dCall(p, s, e, 0, p.g.outH, padded, SCRATCH);
      return padded ? [padImagesCall(p.g, p.padValue, s, e, p.x, padded), conv] : [conv];
    },
  };
}

/**
 * The direct conv of a single image over its output rows, or over its filters in groups of
 * 32 where the rows are too few to share evenly among `threads`' chunks (fewer than two a
 * chunk: a 7x7 output on 2 threads went 4 rows to one thread and 3 to the other, and its
 * 512-filter layers ran 1.55x faster than on one thread where 14x14 ones ran 1.65x).
 * `padded` (threadCopy) must hold its copy already.
 */
export function directConvRowsJob(p: DirectConv, padded: number, threads = 1): Job {
  const scratch = padded ? bconv2dTableBytes(p.g, p.outC) : 0;
  const micros = convMicros(p);
  // Over 128 input channels: the word tiles (which take every filter) are not in play.
  if (p.g.outH < 4 * threads && p.outC >= 64 * threads && wordsPerPixel(p.g.c) > 4) {
    return job(
      p.outC,
      32,
      micros,
      (f0, f1) => bitConv2dCall(p, 0, 1, 0, p.g.outH, padded, SCRATCH, f0, f1),
      scratch,
    );
  }
  return job(p.g.outH, 1, micros, (r0, r1) => bitConv2dCall(p, 0, 1, r0, r1, padded, SCRATCH), scratch);
}

/**
 * The im2col path of a binary conv over images: im2col into cols, the GEMM into int32 out
 * and, for pad 0 where windows read padding, the correction.
 */
export function im2colConvSteps(
  g: Window2D,
  padValue: PadValue,
  outC: number,
  x: number,
  weights: number,
  cols: number,
  out: number,
): Job[] {
  const k = g.kh * g.kw * g.c;
  const steps = [
    im2colJob(g, padValue, x, cols),
    bgemmJob(g.n * g.outH * g.outW, outC, im2colWords(g), k, cols, weights, out),
  ];
  if (padValue === 0 && readsPadding(g)) steps.push(zeroPadCorrectionJob(g, outC, weights, out));
  return steps;
}
