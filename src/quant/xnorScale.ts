/**
 * XNOR-Net's activation scale K (Rastegari et al. 2016, section 3.2): for an input I
 * [n, h, w, c] (NHWC) and a kh x kw convolution window,
 *   A[b, y, x] = mean_c |I[b, y, x, c]|,
 *   K = A (*) k, with k the kh x kw box filter of 1 / (kh * kw),
 * evaluated at the convolution's output positions (same stride and padding; positions
 * outside the image contribute 0, as in the paper's zero-padded convolution).
 * The binary convolution's output is then (sign(I) (*) sign(W)) * K * alpha.
 * K is treated as a constant in the backward pass (gradients flow through sign(I) only),
 * as in the paper's reference implementation.
 *
 *     // 1x2x2x1 input of ones, 2x2 valid window: K = [[[1]]]
 *     xnorActivationScale(new Float32Array([1, 1, 1, 1]), convGeometry(1, 2, 2, 1, 2, 2, 1, 1, "valid"));
 */
import type { Window2D } from "../kernels/types.js";

/** K [n, outH, outW] for input x [n, h, w, c] under window geometry g. */
export function xnorActivationScale(x: Float32Array, g: Window2D): Float32Array {
  const { n, h, w, c } = g;
  if (x.length !== n * h * w * c) {
    throw new RangeError(
      `xnorActivationScale: input has ${x.length} values, geometry needs ${n * h * w * c}`,
    );
  }
  const a = new Float32Array(n * h * w);
  for (let p = 0; p < a.length; p++) {
    let s = 0;
    for (let ci = 0; ci < c; ci++) s += Math.abs(x[p * c + ci]!);
    a[p] = s / c;
  }
  const k = new Float32Array(n * g.outH * g.outW);
  const box = 1 / (g.kh * g.kw);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        let s = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          const y = oy * g.strideH - g.padTop + ky;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const xx = ox * g.strideW - g.padLeft + kx;
            if (xx >= 0 && xx < w) s += a[(b * h + y) * w + xx]!;
          }
        }
        k[(b * g.outH + oy) * g.outW + ox] = s * box;
      }
    }
  }
  return k;
}
