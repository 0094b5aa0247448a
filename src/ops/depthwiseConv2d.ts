/**
 * Depthwise 2-D convolution (cross-correlation, depth multiplier 1): each channel of the
 * NHWC input x [N, H, W, C] is filtered by its own kh x kw filter, weights w [kh, kw, C];
 * output y [N, outH, outW, C]. Window geometry and 'same' / 'valid' padding follow
 * TensorFlow (src/kernels/geometry.ts); padding positions read 0. With
 * iy = oy*strideH - padTop + ky and ix = ox*strideW - padLeft + kx, summing over in-bounds taps:
 *   forward   y[n, oy, ox, c]  = sum_{ky,kx} x[n, iy, ix, c] * w[ky, kx, c]
 *   backward  dx[n, iy, ix, c] += sum_{oy,ox,ky,kx} dy[n, oy, ox, c] * w[ky, kx, c]
 *             dw[ky, kx, c]    += sum_{n,oy,ox} dy[n, oy, ox, c] * x[n, iy, ix, c]
 * Padding taps (value 0) add nothing to y or dw and receive no gradient.
 *
 *     const blurred = depthwiseConv2d(x, blur, { stride: 2, padding: "same" }); // blur [3, 3, C]
 */
import { convGeometry, type Padding } from "../kernels/geometry.js";
import { forEachDepthwiseTap } from "../kernels/ref/depthwise.js";
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { checkRank, contextOf } from "./grad.js";

/** Stride and padding of `depthwiseConv2d`. */
export interface DepthwiseConv2dOptions {
  /** One stride for both axes, or [strideH, strideW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Default 'valid'. */
  padding?: Padding;
}

/**
 * Depthwise 2D convolution: each channel of x [N, H, W, C] with its own kh x kw filter of w
 * [kh, kw, C].
 */
export function depthwiseConv2d(x: Tensor, w: Tensor, options: DepthwiseConv2dOptions = {}): Tensor {
  const { stride = 1, padding = "valid" } = options;
  const ctx = contextOf("depthwiseConv2d", x, w);
  checkRank("depthwiseConv2d", "input x [N, H, W, C]", x, 4);
  checkRank("depthwiseConv2d", "weights w [kh, kw, C]", w, 3);
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [kh, kw, wc] = w.shape as [number, number, number];
  if (wc !== c) {
    throw new Error(
      `depthwiseConv2d: weights ${formatShape(w.shape)} filter ${wc} channels, input ${formatShape(x.shape)} has ${c}`,
    );
  }
  const [sh, sw] = typeof stride === "number" ? [stride, stride] : stride;
  const g = convGeometry(n, h, wd, c, kh, kw, sh, sw, padding);

  const out = ctx.empty([n, g.outH, g.outW, c]);
  // Each output pixel's C sums in float64, rounded once (the engine runs the same kernel).
  ctx.float.depthwise(g, x.ptr, w.ptr, out.ptr);

  if (ctx.needsGrad(x, w)) {
    out.setBackward([x, w], () => {
      const dy = out.grad!;
      if (x.requiresGrad) {
        x.accumulateGrad((ptr, overwrite) => {
          if (overwrite) ctx.float.fill(x.size, 0, ptr);
          const dx = ctx.heap.f32At(ptr, x.size);
          const gd = dy.data;
          const wt = w.data;
          forEachDepthwiseTap(g, (xb, yb, wb) => {
            for (let j = 0; j < c; j++) dx[xb + j]! += gd[yb + j]! * wt[wb + j]!;
          });
        });
      }
      if (w.requiresGrad) {
        const sums = new Float64Array(w.size);
        const gd = dy.data;
        const xd = x.data;
        forEachDepthwiseTap(g, (xb, yb, wb) => {
          for (let j = 0; j < c; j++) sums[wb + j]! += gd[yb + j]! * xd[xb + j]!;
        });
        w.accumulateGrad((ptr, overwrite) => {
          const dw = ctx.heap.f32At(ptr, w.size);
          for (let i = 0; i < w.size; i++) dw[i] = overwrite ? sums[i]! : dw[i]! + sums[i]!;
        });
      }
    });
  }
  return out;
}
