/**
 * Reference binary kernels: plain TypeScript, one bit and one tap at a time, written to
 * be read. The convolution does not go through im2col: it sums each tap's contribution
 * directly (in-bounds: the XOR-popcount dot; padding: padValue * sum of the weight tap),
 * so it checks the optimized im2col + GEMM + correction path independently.
 */
import { type BinaryKernels, bconv2dScratchWords, type PadValue } from "../binaryTypes.js";
import { binaryDot, popcount32, signBit, wordMask, wordsPerPixel } from "../bits.js";
import type { Heap } from "../heap.js";
import type { Window2D } from "../types.js";
import { refEpilogue } from "./epilogue.js";

function checkPad(padValue: number): void {
  if (padValue !== -1 && padValue !== 0 && padValue !== 1) {
    throw new RangeError(`binary conv: padValue must be -1, 0 or +1, got ${padValue}`);
  }
}

export function refBitPack(heap: Heap, rows: number, c: number, x: number, bits: number): void {
  const X = heap.f32At(x, rows * c);
  const words = wordsPerPixel(c);
  const B = heap.u32At(bits, rows * words);
  B.fill(0);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) B[r * words + (j >>> 5)]! |= signBit(X[r * c + j]!) << (j & 31);
  }
}

export function refBitUnpack(heap: Heap, rows: number, c: number, bits: number, out: number): void {
  const words = wordsPerPixel(c);
  const B = heap.u32At(bits, rows * words);
  const Y = heap.f32At(out, rows * c);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) Y[r * c + j] = (B[r * words + (j >>> 5)]! >>> (j & 31)) & 1 ? 1 : -1;
  }
}

export function refBgemm(
  heap: Heap,
  m: number,
  n: number,
  words: number,
  k: number,
  a: number,
  b: number,
  out: number,
): void {
  if (k > words * 32) throw new RangeError(`bgemm: k = ${k} bits do not fit in ${words} words`);
  const A = heap.u32At(a, m * words);
  const B = heap.u32At(b, n * words);
  const O = heap.i32At(out, m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) O[i * n + j] = binaryDot(A, i * words, B, j * words, words, k);
  }
}

/** The padding word of a row of c channels: 0 bits for -1 and 0, the c real bits set for +1. */
function padWord(padValue: PadValue, c: number, word: number): number {
  return padValue === 1 ? wordMask(c, word) : 0;
}

export function refBitIm2col(heap: Heap, g: Window2D, padValue: PadValue, x: number, cols: number): void {
  checkPad(padValue);
  const wpp = wordsPerPixel(g.c);
  const X = heap.u32At(x, g.n * g.h * g.w * wpp);
  const C = heap.u32At(cols, bconv2dScratchWords(g));
  let p = 0;
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky;
            const ix = ox * g.strideW - g.padLeft + kx;
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            for (let q = 0; q < wpp; q++) {
              C[p++] = inside ? X[((b * g.h + iy) * g.w + ix) * wpp + q]! : padWord(padValue, g.c, q);
            }
          }
        }
      }
    }
  }
}

export function refBconv2d(
  heap: Heap,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  x: number,
  weights: number,
  out: number,
): void {
  checkPad(padValue);
  const wpp = wordsPerPixel(g.c);
  const taps = g.kh * g.kw;
  const X = heap.u32At(x, g.n * g.h * g.w * wpp);
  const W = heap.u32At(weights, outC * taps * wpp);
  const O = heap.i32At(out, g.n * g.outH * g.outW * outC);
  // sum_c w[o, tap, c] over {-1, +1} = 2 * popcount(w tap) - c.
  const tapSum = (o: number, tap: number) => {
    let ones = 0;
    for (let q = 0; q < wpp; q++) ones += popcount32(W[(o * taps + tap) * wpp + q]!);
    return 2 * ones - g.c;
  };
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const pixel = (b * g.outH + oy) * g.outW + ox;
        for (let o = 0; o < outC; o++) {
          let acc = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            for (let kx = 0; kx < g.kw; kx++) {
              const iy = oy * g.strideH - g.padTop + ky;
              const ix = ox * g.strideW - g.padLeft + kx;
              const tap = ky * g.kw + kx;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
                acc += binaryDot(X, ((b * g.h + iy) * g.w + ix) * wpp, W, (o * taps + tap) * wpp, wpp, g.c);
              } else {
                acc += padValue * tapSum(o, tap);
              }
            }
          }
          O[pixel * outC + o] = acc;
        }
      }
    }
  }
}

export function refBitThreshold(
  heap: Heap,
  rows: number,
  c: number,
  x: number,
  thr: number,
  flip: number,
  out: number,
): void {
  const words = wordsPerPixel(c);
  const X = heap.i32At(x, rows * c);
  const T = heap.i32At(thr, c);
  const F = heap.u32At(flip, words);
  const Y = heap.u32At(out, rows * words);
  Y.fill(0);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) {
      const flipped = (F[j >>> 5]! >>> (j & 31)) & 1;
      const bit = (X[r * c + j]! >= T[j]! ? 1 : 0) ^ flipped;
      Y[r * words + (j >>> 5)]! |= bit << (j & 31);
    }
  }
}

export function refBitAffine(
  heap: Heap,
  rows: number,
  c: number,
  x: number,
  scale: number,
  bias: number,
  out: number,
): void {
  const X = heap.i32At(x, rows * c);
  const S = heap.f32At(scale, c);
  const B = heap.f32At(bias, c);
  const Y = heap.f32At(out, rows * c);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) Y[r * c + j] = Math.fround(Math.fround(X[r * c + j]!) * S[j]!) + B[j]!;
  }
}

export function refBitMaxPool(heap: Heap, g: Window2D, x: number, y: number): void {
  const wpp = wordsPerPixel(g.c);
  const X = heap.u32At(x, g.n * g.h * g.w * wpp);
  const Y = heap.u32At(y, g.n * g.outH * g.outW * wpp);
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const o = ((b * g.outH + oy) * g.outW + ox) * wpp;
        let taps = 0;
        for (let q = 0; q < wpp; q++) Y[o + q] = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky;
            const ix = ox * g.strideW - g.padLeft + kx;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            taps++;
            for (let q = 0; q < wpp; q++) Y[o + q]! |= X[((b * g.h + iy) * g.w + ix) * wpp + q]!;
          }
        }
        if (taps === 0)
          throw new RangeError(`binary maxPool: window at (${oy}, ${ox}) lies entirely in padding`);
      }
    }
  }
}

/** conv2d then thresholdPack, through a temporary int32 block of the heap. */
export function refBconv2dThreshold(
  heap: Heap,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  x: number,
  weights: number,
  thr: number,
  flip: number,
  out: number,
): void {
  withPreActivations(heap, g, padValue, outC, x, weights, (rows, pre) =>
    refBitThreshold(heap, rows, outC, pre, thr, flip, out),
  );
}

/** conv2d then affine, through a temporary int32 block of the heap. */
export function refBconv2dAffine(
  heap: Heap,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  x: number,
  weights: number,
  scale: number,
  bias: number,
  out: number,
): void {
  withPreActivations(heap, g, padValue, outC, x, weights, (rows, pre) =>
    refBitAffine(heap, rows, outC, pre, scale, bias, out),
  );
}

/** Runs conv2d into a temporary int32 block of the heap, hands it to `then`, and frees it. */
function withPreActivations(
  heap: Heap,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  x: number,
  weights: number,
  then: (rows: number, pre: number) => void,
): void {
  const rows = g.n * g.outH * g.outW;
  const pre = heap.alloc(Math.max(rows * outC, 1) * 4);
  try {
    refBconv2d(heap, g, padValue, outC, x, weights, pre);
    then(rows, pre);
  } finally {
    heap.free(pre);
  }
}

/** The reference binary kernels on a heap. */
export function createRefBinaryKernels(heap: Heap): BinaryKernels {
  return {
    name: "ref",
    heap,
    pack: (rows, c, x, bits) => refBitPack(heap, rows, c, x, bits),
    unpack: (rows, c, bits, out) => refBitUnpack(heap, rows, c, bits, out),
    bgemm: (m, n, words, k, a, b, out) => refBgemm(heap, m, n, words, k, a, b, out),
    im2col: (g, padValue, x, cols) => refBitIm2col(heap, g, padValue, x, cols),
    conv2d: (g, padValue, outC, x, weights, _cols, out) =>
      refBconv2d(heap, g, padValue, outC, x, weights, out),
    conv2dThreshold: (g, padValue, outC, x, weights, thr, flip, out) =>
      refBconv2dThreshold(heap, g, padValue, outC, x, weights, thr, flip, out),
    // The reference computes every dot whole: it needs no tables.
    convTablesBytes: () => 0,
    convTables: () => {},
    conv2dAffine: (g, padValue, outC, x, weights, scale, bias, out, _scratch, epilogue) => {
      refBconv2dAffine(heap, g, padValue, outC, x, weights, scale, bias, out);
      if (epilogue) refEpilogue(heap, epilogue, g.n * g.outH * g.outW, outC, out);
    },
    thresholdPack: (rows, c, x, thr, flip, out) => refBitThreshold(heap, rows, c, x, thr, flip, out),
    affine: (rows, c, x, scale, bias, out) => refBitAffine(heap, rows, c, x, scale, bias, out),
    maxPool: (g, x, y) => refBitMaxPool(heap, g, x, y),
  };
}
