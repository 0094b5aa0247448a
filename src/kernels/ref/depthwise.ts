/**
 * The float depthwise convolution's forward pass, shared by the training op
 * (src/ops/depthwiseConv2d.ts) and the engine, so both compute the same float32 values:
 *   y[n, oy, ox, c] = fround(sum over in-bounds taps of x[n, iy, ix, c] * w[ky, kx, c])
 * with the sum in float64 (padding taps read 0 and are skipped), weights [kh, kw, C].
 */
import type { Window2D } from "../types.js";

/**
 * Calls visit(xBase, yBase, wBase) for every in-bounds tap: the offsets of channel 0 of the
 * input pixel, the output pixel and the filter tap (each runs over C channels from there).
 * Taps come grouped by output pixel; `pixelDone(yBase)` runs after each group.
 */
export function forEachDepthwiseTap(
  g: Window2D,
  visit: (xBase: number, yBase: number, wBase: number) => void,
  pixelDone?: (yBase: number) => void,
): void {
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const yBase = ((n * g.outH + oy) * g.outW + ox) * g.c;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix < 0 || ix >= g.w) continue;
            visit(((n * g.h + iy) * g.w + ix) * g.c, yBase, (ky * g.kw + kx) * g.c);
          }
        }
        pixelDone?.(yBase);
      }
    }
  }
}

/**
 * y = depthwise(x, w) over the geometry g (x [n, h, w, c], y [n, outH, outW, c]). The same
 * taps in the same order as forEachDepthwiseTap, written as plain loops (no call per tap).
 */
export function depthwiseForward(g: Window2D, x: Float32Array, w: Float32Array, y: Float32Array): void {
  const c = g.c;
  const sums = new Float64Array(c);
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        sums.fill(0);
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix < 0 || ix >= g.w) continue;
            const xb = ((n * g.h + iy) * g.w + ix) * c;
            const wb = (ky * g.kw + kx) * c;
            for (let j = 0; j < c; j++) sums[j]! += x[xb + j]! * w[wb + j]!;
          }
        }
        y.set(sums, ((n * g.outH + oy) * g.outW + ox) * c);
      }
    }
  }
}
