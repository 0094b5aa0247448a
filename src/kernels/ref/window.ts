/**
 * Reference window kernels over NHWC images: im2col and its adjoint col2im, max and
 * average pooling with their backward passes. Input position of output (oy, ox) and
 * window offset (ky, kx): iy = oy * strideH - padTop + ky, ix = ox * strideW - padLeft + kx.
 */
import type { Heap } from "../heap.js";
import type { Window2D } from "../types.js";

const imageSize = (g: Window2D) => g.n * g.h * g.w * g.c;
const outSize = (g: Window2D) => g.n * g.outH * g.outW * g.c;

/** Calls visit(outIndexBase, inIndexBase or -1 when padding, window position) for every window tap. */
function forEachTap(g: Window2D, visit: (outPixel: number, inPixel: number, tap: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const outPixel = (b * g.outH + oy) * g.outW + ox;
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky;
            const ix = ox * g.strideW - g.padLeft + kx;
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            visit(outPixel, inside ? (b * g.h + iy) * g.w + ix : -1, ky * g.kw + kx);
          }
        }
      }
    }
  }
}

/** cols[pixel, (ky*kw + kx)*c + ci] = x[b, iy, ix, ci], or padValue outside the image. */
export function refIm2col(heap: Heap, g: Window2D, x: number, padValue: number, cols: number): void {
  const X = heap.f32At(x, imageSize(g));
  const rowLen = g.kh * g.kw * g.c;
  const C = heap.f32At(cols, g.n * g.outH * g.outW * rowLen);
  forEachTap(g, (outPixel, inPixel, tap) => {
    for (let ci = 0; ci < g.c; ci++) {
      C[outPixel * rowLen + tap * g.c + ci] = inPixel < 0 ? padValue : X[inPixel * g.c + ci]!;
    }
  });
}

/** dx[b, iy, ix, ci] += cols[pixel, (ky*kw + kx)*c + ci] over every tap inside the image. */
export function refCol2im(heap: Heap, g: Window2D, cols: number, dx: number): void {
  const D = heap.f32At(dx, imageSize(g));
  const rowLen = g.kh * g.kw * g.c;
  const C = heap.f32At(cols, g.n * g.outH * g.outW * rowLen);
  forEachTap(g, (outPixel, inPixel, tap) => {
    if (inPixel < 0) return;
    for (let ci = 0; ci < g.c; ci++) D[inPixel * g.c + ci]! += C[outPixel * rowLen + tap * g.c + ci]!;
  });
}

/** y = max over the in-bounds window; argmax = flat x index of the first maximum. */
export function refMaxPool(heap: Heap, g: Window2D, x: number, y: number, argmax: number): void {
  const X = heap.f32At(x, imageSize(g));
  const Y = heap.f32At(y, outSize(g));
  const A = argmax ? heap.i32At(argmax, outSize(g)) : new Int32Array(outSize(g));
  Y.fill(Number.NEGATIVE_INFINITY);
  A.fill(-1);
  forEachTap(g, (outPixel, inPixel) => {
    if (inPixel < 0) return;
    for (let ci = 0; ci < g.c; ci++) {
      const o = outPixel * g.c + ci;
      const i = inPixel * g.c + ci;
      if (A[o] === -1 || X[i]! > Y[o]!) {
        Y[o] = X[i]!;
        A[o] = i;
      }
    }
  });
}

/** dx[argmax[i]] += dy[i], in order of i (dx set to 0 first when overwrite). */
export function refMaxPoolBackward(
  heap: Heap,
  g: Window2D,
  dy: number,
  argmax: number,
  dx: number,
  overwrite: boolean,
): void {
  const count = outSize(g);
  const DY = heap.f32At(dy, count);
  const A = heap.i32At(argmax, count);
  const DX = heap.f32At(dx, imageSize(g));
  if (overwrite) DX.fill(0);
  for (let i = 0; i < count; i++) DX[A[i]!]! += DY[i]!;
}

/** Number of in-bounds taps of each output pixel (the average's divisor). */
function tapCounts(g: Window2D): Int32Array {
  const counts = new Int32Array(g.n * g.outH * g.outW);
  forEachTap(g, (outPixel, inPixel) => {
    if (inPixel >= 0) counts[outPixel]!++;
  });
  return counts;
}

/** y = mean of x over the in-bounds positions of each window. */
export function refAvgPool(heap: Heap, g: Window2D, x: number, y: number): void {
  const X = heap.f32At(x, imageSize(g));
  const sums = new Float64Array(outSize(g));
  forEachTap(g, (outPixel, inPixel) => {
    if (inPixel < 0) return;
    for (let ci = 0; ci < g.c; ci++) sums[outPixel * g.c + ci]! += X[inPixel * g.c + ci]!;
  });
  const counts = tapCounts(g);
  const Y = heap.f32At(y, outSize(g));
  for (let o = 0; o < Y.length; o++) Y[o] = sums[o]! / counts[Math.floor(o / g.c)]!;
}

/** dx[in-bounds tap] += dy[pixel] / count[pixel]. */
export function refAvgPoolBackward(heap: Heap, g: Window2D, dy: number, dx: number): void {
  const DY = heap.f32At(dy, outSize(g));
  const D = heap.f32At(dx, imageSize(g));
  const counts = tapCounts(g);
  forEachTap(g, (outPixel, inPixel) => {
    if (inPixel < 0) return;
    for (let ci = 0; ci < g.c; ci++) {
      D[inPixel * g.c + ci]! += Math.fround(DY[outPixel * g.c + ci]! / counts[outPixel]!);
    }
  });
}
