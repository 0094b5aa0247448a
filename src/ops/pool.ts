/**
 * 2-D pooling over NHWC x [N, H, W, C] -> [N, outH, outW, C] (TensorFlow's 'valid' and
 * 'same' rules; padding positions never count).
 *   maxPool2d: y = max over the window; dx[argmax] += dy (the first maximum wins ties).
 *   avgPool2d: y = mean over the in-bounds window; dx[each tap] += dy / count.
 *   globalAvgPool2d: x [N, H, W, C] -> [N, C], y[n, c] = mean over H and W of x[n, :, :, c],
 *     dx[n, h, w, c] += dy[n, c] / (H*W) (a derived op: avgPool2d with one H x W window).
 *
 *     const p = maxPool2d(x, { size: 2 }); // stride defaults to the size
 *     const features = globalAvgPool2d(h); // the classifier head's input
 */
import { convGeometry, type Padding } from "../kernels/geometry.js";
import type { Window2D } from "../kernels/types.js";
import type { Tensor } from "../tensor/tensor.js";
import { checkRank, composite } from "./grad.js";
import { reshape } from "./shape.js";

/** Window size, stride and padding of the pooling ops. */
export interface Pool2dOptions {
  /** Window size, one number or [kh, kw]. */
  size: number | readonly [number, number];
  /** Default: the window size. */
  stride?: number | readonly [number, number];
  /** Default 'valid'. */
  padding?: Padding;
}

const pair = (v: number | readonly [number, number]): [number, number] =>
  typeof v === "number" ? [v, v] : [v[0], v[1]];

function geometry(op: string, x: Tensor, options: Pool2dOptions): Window2D {
  checkRank(op, "input x [N, H, W, C]", x, 4);
  const [kh, kw] = pair(options.size);
  const [sh, sw] = pair(options.stride ?? options.size);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return convGeometry(n, h, w, c, kh, kw, sh, sw, options.padding ?? "valid");
}

/** The max over each window of x [N, H, W, C]; the gradient goes to the first maximum. */
export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const ctx = x.ctx;
  const g = geometry("maxPool2d", x, options);
  const out = ctx.empty([g.n, g.outH, g.outW, g.c]);
  const argmax = ctx.heap.alloc(out.size * 4);
  ctx.float.maxPool(g, x.ptr, out.ptr, argmax);
  if (!ctx.needsGrad(x)) {
    ctx.heap.free(argmax);
    return out;
  }
  out.saveBuffer(argmax);
  out.setBackward([x], () => {
    const dy = out.grad!;
    x.accumulateGrad((ptr, overwrite) => ctx.float.maxPoolBackward(g, dy.ptr, argmax, ptr, overwrite));
  });
  return out;
}

/** The mean over each window of x [N, H, W, C] (padding never counts). */
export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const ctx = x.ctx;
  const g = geometry("avgPool2d", x, options);
  const out = ctx.empty([g.n, g.outH, g.outW, g.c]);
  ctx.float.avgPool(g, x.ptr, out.ptr);
  if (ctx.needsGrad(x)) {
    out.setBackward([x], () => {
      const dy = out.grad!;
      x.accumulateGrad((ptr, overwrite) => {
        if (overwrite) ctx.float.fill(x.size, 0, ptr);
        ctx.float.avgPoolBackward(g, dy.ptr, ptr);
      });
    });
  }
  return out;
}

/** x [N, H, W, C] -> [N, C], the mean over each image. */
export function globalAvgPool2d(x: Tensor): Tensor {
  checkRank("globalAvgPool2d", "input x [N, H, W, C]", x, 4);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return composite(x.ctx, [x], () => reshape(avgPool2d(x, { size: [h, w] }), [n, c]));
}
