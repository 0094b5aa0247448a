/**
 * Products of a binary input with binary weights, computed exactly. For xq in {-1, +1}
 * and weights whose output-channel rows are +/-alpha[o] (alpha = 1 for sign; XNOR-Net's
 * mean |W| for magnitude_aware_sign):
 *
 *   y[p, o] = f32(dot(xq[p], sign(w[o]))) * alpha[o]
 *
 * The dot over the K = kh*kw*C taps is an integer, exact in float32 for K < 2^24, and
 * alpha multiplies it once, after the sum (a float GEMM over +/-alpha terms would round
 * each partial sum instead; the exporter folds alpha the same way, src/export/fold.ts).
 * Two forward paths give identical values:
 * - packed (`xnor: true`, the default when the backend has binary kernels): signs packed
 *   into bits, XOR-popcount GEMM or convolution to int32 (zero padding corrected in the
 *   kernel), converted to float32; about 9x the float multiply-add rate;
 * - float (`xnor: false`): the same product in float32 over +/-1 values (sgemm).
 * Backward is matmul's / conv2d's with w itself (dxq = dy w, dw = dy^T xq), so
 * magnitude_aware_sign's w = alpha * sign(W) keeps its quantizer's backward unchanged.
 * With `xnor`, the gradients run on the sign GEMM (src/kernels/signGemm.ts: table lookups
 * instead of multiply-adds, 1.3-2.6x the sgemm rate; the same products summed in another
 * order, so they differ from sgemm's by rounding): dxq = (dy * alpha) sign(w) and
 * dw = dy^T xq (for a convolution only when every im2col entry is +/-1: pad value -1 or
 * +1, or no padding position).
 *
 *     const y = binaryMatmul(sign(x), sign(w));               // [N, K] x [O, K] -> [N, O]
 *     const z = binaryConv2d(sign(x), sign(k), { padValue: 0, padding: "same" });
 */
import {
  type BinaryKernels,
  bconv2dScratchWords,
  isPointwise,
  type PadValue,
} from "../kernels/binaryTypes.js";
import { wordsPerPixel } from "../kernels/bits.js";
import { convGeometry, type Padding, readsPadding } from "../kernels/geometry.js";
import type { Heap } from "../kernels/heap.js";
import { type SignGemmKernels, signGemmKernels, signGemmPatternBytes } from "../kernels/signGemm.js";
import type { Window2D } from "../kernels/types.js";
import type { KernelModule } from "../kernels/wasm/module.js";
import type { Context } from "../tensor/context.js";
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { recordConv2dBackward } from "./conv2d.js";
import { checkRank, contextOf } from "./grad.js";
import { recordMatmulBackward } from "./matmul.js";

/** Which forward path a binary product takes (both give identical values). */
export interface BinaryProductOptions {
  /** Packed XOR-popcount forward (default, when the backend has binary kernels) or float. */
  xnor?: boolean;
}

/** Stride, padding and pad value of `binaryConv2d`, and its forward path. */
export interface BinaryConv2dOptions extends BinaryProductOptions {
  /** One stride for both axes. Default 1. */
  stride?: number;
  /** Default 'valid'. */
  padding?: Padding;
  /** Value read outside the image: -1, 0 or +1. Default 0. */
  padValue?: PadValue;
}

/** The backend's binary kernels, when it has them (the Context needs only float ones). */
function binaryKernelsOf(ctx: Context): BinaryKernels | null {
  return (ctx.backend as { binary?: BinaryKernels }).binary ?? null;
}

/** alpha[o] = |w[o, 0]| (rows are +/-alpha[o]); null when every alpha is 1 (sign weights). */
function rowScales(w: Tensor): Float32Array | null {
  const rows = w.shape[0]!;
  const k = w.size / rows;
  const d = w.data;
  const alpha = new Float32Array(rows);
  let allOne = true;
  for (let o = 0; o < rows; o++) {
    alpha[o] = Math.abs(d[o * k]!);
    if (alpha[o] !== 1) allOne = false;
  }
  return allOne ? null : alpha;
}

/** dst [rows, c] = src * alpha[j] (one float32 multiply per value); dst may be src. */
function scaleColumns(
  ctx: Context,
  rows: number,
  c: number,
  src: number,
  alpha: Float32Array,
  dst = src,
): void {
  const a = ctx.heap.alloc(c * 4);
  try {
    ctx.heap.f32At(a, c).set(alpha);
    ctx.float.binaryRow("mul", rows, c, src, a, dst);
  } finally {
    ctx.heap.free(a);
  }
}

/**
 * Runs `product(sg, src, pat, scratch, take)` for the input gradient of a binary layer:
 * src = dy * alpha (dy [rows, o] at a heap pointer; dy itself for sign weights), pat the
 * sign patterns of wq [o, k], scratch the sign GEMM's; `take` allocates more scratch.
 * Every block is freed afterwards.
 */
function withSignInputGrad(
  ctx: Context,
  rows: number,
  dy: number,
  wq: Tensor,
  alpha: Float32Array | null,
  product: (
    sg: SignGemmKernels,
    src: number,
    pat: number,
    scratch: number,
    take: (bytes: number) => number,
  ) => void,
): void {
  const sg = signGemmKernels(ctx.backend as { heap: Heap; module?: KernelModule });
  const o = wq.shape[0]!;
  const k = wq.size / o;
  ctx.heap.withBlocks((take) => {
    const pat = take(signGemmPatternBytes(o, k));
    const scratch = take(sg.scratchBytes(k));
    sg.patterns(o, k, wq.ptr, pat);
    let src = dy;
    if (alpha) {
      src = take(rows * o * 4);
      scaleColumns(ctx, rows, o, dy, alpha, src);
    }
    product(sg, src, pat, scratch, take);
  });
}

/**
 * dst [rows, k] = (beta ? dst : 0) + (dy * alpha) sign(wq), dy [rows, o] at a heap
 * pointer, wq [o, k]: the input gradient of a binary layer on the sign GEMM.
 */
function signInputGrad(
  ctx: Context,
  rows: number,
  dy: number,
  wq: Tensor,
  alpha: Float32Array | null,
  dst: number,
  beta: 0 | 1,
): void {
  const o = wq.shape[0]!;
  const k = wq.size / o;
  withSignInputGrad(ctx, rows, dy, wq, alpha, (sg, src, pat, scratch, take) => {
    const out = beta ? take(rows * k * 4) : dst;
    sg.gemm(rows, o, k, src, false, pat, scratch, out);
    if (beta) ctx.float.axpy(rows * k, 1, out, dst);
  });
}

/**
 * dx += col2im((dy * alpha) sign(wq)) for a binary convolution of geometry g, dy [P, O]
 * at a heap pointer: its input gradient on the sign GEMM, rows added into dx as they are
 * finished (no dcols matrix).
 */
function signInputGradConv(
  ctx: Context,
  g: Window2D,
  dy: number,
  wq: Tensor,
  alpha: Float32Array | null,
  dx: number,
): void {
  const rows = g.n * g.outH * g.outW;
  withSignInputGrad(ctx, rows, dy, wq, alpha, (sg, src, pat, scratch) =>
    sg.gemmCol2im(g, wq.shape[0]!, src, pat, scratch, dx),
  );
}

/** int32 out [rows, c] -> float32 in place (exact: |x| < 2^24), then times alpha. */
function dotsToFloat(
  ctx: Context,
  bin: BinaryKernels,
  rows: number,
  c: number,
  out: number,
  alpha: Float32Array | null,
): void {
  const heap = ctx.heap;
  const ones = heap.alloc(c * 4);
  const zeros = heap.alloc(c * 4);
  try {
    ctx.float.fill(c, 1, ones);
    ctx.float.fill(c, 0, zeros);
    bin.affine(rows, c, out, ones, zeros, out);
  } finally {
    heap.free(ones);
    heap.free(zeros);
  }
  if (alpha) scaleColumns(ctx, rows, c, out, alpha);
}

/**
 * dst [o, k] = (beta ? dst : 0) + dy^T X for dy [rows, o] and X [rows, k] with entries
 * +/-1, given by `patterns` (writing X's sign patterns): a binary layer's weight gradient
 * on the sign GEMM.
 */
function signWeightGrad(
  ctx: Context,
  rows: number,
  o: number,
  k: number,
  dy: number,
  patterns: (sg: SignGemmKernels, pat: number) => void,
  dst: number,
  beta: 0 | 1,
): void {
  const sg = signGemmKernels(ctx.backend as { heap: Heap; module?: KernelModule });
  ctx.heap.withBlocks((take) => {
    const pat = take(signGemmPatternBytes(rows, k));
    const scratch = take(sg.scratchBytes(k));
    patterns(sg, pat);
    const out = beta ? take(o * k * 4) : dst;
    sg.gemm(o, rows, k, dy, true, pat, scratch, out);
    if (beta) ctx.float.axpy(o * k, 1, out, dst);
  });
}

/**
 * Runs `body` with the weights as +/-1 float32 at a heap pointer: w itself when its rows
 * are already +/-1, else sign(w) in scratch.
 */
function withSignWeights<T>(
  ctx: Context,
  w: Tensor,
  alpha: Float32Array | null,
  body: (ptr: number) => T,
): T {
  if (!alpha) return body(w.ptr);
  const s = ctx.heap.alloc(w.size * 4);
  try {
    ctx.float.unary("sign", w.size, w.ptr, s);
    return body(s);
  } finally {
    ctx.heap.free(s);
  }
}

/**
 * y [N, O] = xq [N, K] times wq [O, K] transposed, exact (see the module doc); the forward
 * of a binary dense layer. Backward: matmul(xq, wq, { transB: true })'s.
 */
export function binaryMatmul(xq: Tensor, wq: Tensor, options: BinaryProductOptions = {}): Tensor {
  const ctx = contextOf("binaryMatmul", xq, wq);
  checkRank("binaryMatmul", "input xq [N, K]", xq, 2);
  checkRank("binaryMatmul", "weights wq [O, K]", wq, 2);
  const [n, k] = xq.shape as [number, number];
  const [o, wk] = wq.shape as [number, number];
  if (wk !== k) {
    throw new Error(
      `binaryMatmul: weights ${formatShape(wq.shape)} expect ${wk} inputs, xq ${formatShape(xq.shape)} has ${k}`,
    );
  }
  const out = ctx.empty([n, o]);
  const alpha = rowScales(wq);
  const bin = options.xnor === false ? null : binaryKernelsOf(ctx);
  if (bin) {
    const heap = ctx.heap;
    const words = wordsPerPixel(k);
    const xb = heap.alloc(n * words * 4);
    const wb = heap.alloc(o * words * 4);
    try {
      bin.pack(n, k, xq.ptr, xb);
      bin.pack(o, k, wq.ptr, wb);
      bin.bgemm(n, o, words, k, xb, wb, out.ptr);
    } finally {
      heap.free(xb);
      heap.free(wb);
    }
    dotsToFloat(ctx, bin, n, o, out.ptr, alpha);
    recordMatmulBackward(
      out,
      xq,
      wq,
      { transB: true },
      {
        a: (g, ptr, beta) => signInputGrad(ctx, n, g.ptr, wq, alpha, ptr, beta),
        b: (g, ptr, beta) =>
          signWeightGrad(ctx, n, o, k, g.ptr, (sg, pat) => sg.patterns(n, k, xq.ptr, pat), ptr, beta),
      },
    );
  } else {
    withSignWeights(ctx, wq, alpha, (s) =>
      ctx.float.sgemm(false, true, n, o, k, 1, xq.ptr, k, s, k, 0, out.ptr, o),
    );
    if (alpha) scaleColumns(ctx, n, o, out.ptr, alpha);
    recordMatmulBackward(out, xq, wq, { transB: true });
  }
  return out;
}

/**
 * y [N, outH, outW, O] = conv(xq [N, H, W, C], wq [O, kh, kw, C]), exact (see the module
 * doc), padding positions reading `padValue`; the forward of a binary convolution.
 * Backward: conv2d(xq, wq)'s.
 */
export function binaryConv2d(xq: Tensor, wq: Tensor, options: BinaryConv2dOptions = {}): Tensor {
  const { stride = 1, padding = "valid", padValue = 0 } = options;
  const ctx = contextOf("binaryConv2d", xq, wq);
  checkRank("binaryConv2d", "input xq [N, H, W, C]", xq, 4);
  checkRank("binaryConv2d", "weights wq [O, kh, kw, C]", wq, 4);
  const [n, h, wd, c] = xq.shape as [number, number, number, number];
  const [o, kh, kw, wc] = wq.shape as [number, number, number, number];
  if (wc !== c) {
    throw new Error(
      `binaryConv2d: weights ${formatShape(wq.shape)} expect ${wc} input channels, xq ${formatShape(xq.shape)} has ${c}`,
    );
  }
  if (padValue !== -1 && padValue !== 0 && padValue !== 1) {
    throw new RangeError(`binaryConv2d: padValue must be -1, 0 or +1, got ${padValue}`);
  }
  const g = convGeometry(n, h, wd, c, kh, kw, stride, stride, padding);
  const pixels = n * g.outH * g.outW;
  const k = kh * kw * c;
  const out = ctx.empty([n, g.outH, g.outW, o]);
  const alpha = rowScales(wq);
  const bin = options.xnor === false ? null : binaryKernelsOf(ctx);
  const heap = ctx.heap;
  if (bin) {
    // dW = dy^T cols runs on the sign GEMM when every cols entry is +/-1; its patterns come
    // from the packed input, kept for backward (1 bit per value).
    const colsAreSigns = padValue !== 0 || !readsPadding(g);
    const keepBits = colsAreSigns && ctx.needsGrad(wq);
    const words = wordsPerPixel(c);
    const xb = heap.alloc(n * h * wd * words * 4);
    const wb = heap.alloc(o * kh * kw * words * 4);
    const cols = isPointwise(g) ? 0 : heap.alloc(bconv2dScratchWords(g) * 4);
    try {
      bin.pack(n * h * wd, c, xq.ptr, xb);
      bin.pack(o * kh * kw, c, wq.ptr, wb);
      bin.conv2d(g, padValue, o, xb, wb, cols, out.ptr);
    } finally {
      if (!keepBits) heap.free(xb);
      heap.free(wb);
      if (cols) heap.free(cols);
    }
    if (keepBits) out.saveBuffer(xb);
    dotsToFloat(ctx, bin, pixels, o, out.ptr, alpha);
    const padBit = padValue === 1 ? 1 : 0;
    recordConv2dBackward(out, xq, wq, null, g, padValue, {
      dx: (dy, dx) => signInputGradConv(ctx, g, dy.ptr, wq, alpha, dx),
      wFromInput: keepBits
        ? (dy, ptr, beta) =>
            signWeightGrad(
              ctx,
              pixels,
              o,
              k,
              dy.ptr,
              (sg, pat) => sg.convPatterns(g, padBit, xb, pat),
              ptr,
              beta,
            )
        : undefined,
    });
  } else {
    const cols = heap.alloc(pixels * k * 4);
    try {
      ctx.float.im2col(g, xq.ptr, padValue, cols);
      withSignWeights(ctx, wq, alpha, (s) =>
        ctx.float.sgemm(false, true, pixels, o, k, 1, cols, k, s, k, 0, out.ptr, o),
      );
    } finally {
      heap.free(cols);
    }
    if (alpha) scaleColumns(ctx, pixels, o, out.ptr, alpha);
    recordConv2dBackward(out, xq, wq, null, g, padValue);
  }
  return out;
}
