/**
 * The binary kernels in WebAssembly (assembly/binary): thin wrappers that check shapes,
 * do the geometry in TypeScript and pass pointers. The convolution is im2col on packed
 * words, then the binary GEMM, then (for zero padding) the border correction.
 */
import { type BinaryKernels, isPointwise, type PadValue } from "../binaryTypes.js";
import { wordsPerPixel } from "../bits.js";
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

const geometryArgs = (g: Window2D) =>
  [g.n, g.h, g.w, g.c, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW] as const;

/** Binary kernels over a loaded kernel module (its heap is the kernels' heap). */
export function createWasmBinaryKernels(mod: KernelModule): BinaryKernels {
  const e = mod.exports;
  const name: BackendName = mod.flavor === "simd" ? "wasm-simd" : "wasm-scalar";
  const bgemm = (m: number, n: number, words: number, k: number, a: number, b: number, out: number) => {
    checkCounts("bgemm", { m, n, words, k });
    if (k > words * 32) throw new RangeError(`bgemm: k = ${k} bits do not fit in ${words} words`);
    e.bgemm!(m, n, words, k, a, b, out);
  };
  const im2col = (g: Window2D, padValue: PadValue, x: number, cols: number) => {
    checkPad(padValue);
    e.bitIm2col!(...geometryArgs(g), padValue === 1 ? 1 : 0, x, cols);
  };
  return {
    name,
    heap: mod.heap,
    pack(rows, c, x, bits) {
      checkCounts("pack", { rows, c });
      e.bitPack!(rows, c, x, bits);
    },
    unpack(rows, c, bits, out) {
      checkCounts("unpack", { rows, c });
      e.bitUnpack!(rows, c, bits, out);
    },
    bgemm,
    im2col,
    conv2d(g, padValue, outC, x, weights, cols, out) {
      checkPad(padValue);
      checkCounts("conv2d", { outC });
      const taps = g.kh * g.kw;
      const rows = g.n * g.outH * g.outW;
      const pointwise = isPointwise(g);
      if (!pointwise) im2col(g, padValue, x, cols);
      bgemm(rows, outC, taps * wordsPerPixel(g.c), taps * g.c, pointwise ? x : cols, weights, out);
      const padded =
        g.padTop > 0 ||
        g.padLeft > 0 ||
        (g.outH - 1) * g.strideH - g.padTop + g.kh > g.h ||
        (g.outW - 1) * g.strideW - g.padLeft + g.kw > g.w;
      if (padValue === 0 && padded) e.bitZeroPadCorrection!(...geometryArgs(g), outC, weights, out);
    },
    thresholdPack(rows, c, x, thr, flip, out) {
      checkCounts("thresholdPack", { rows, c });
      e.bitThreshold!(rows, c, x, thr, flip, out);
    },
    affine(rows, c, x, scale, bias, out) {
      checkCounts("affine", { rows, c });
      e.bitAffine!(rows, c, x, scale, bias, out);
    },
    maxPool(g, x, y) {
      checkPoolWindows(g);
      e.bitMaxPool!(...geometryArgs(g), x, y);
    },
  };
}
