/**
 * 2-D convolution (cross-correlation, as in every framework), NHWC input x [N, H, W, C],
 * weights OHWI w [O, kh, kw, C], optional bias [O], output y [N, outH, outW, O].
 * Positions outside the image read `padValue` (0, -1 or +1: a binary network trains with
 * the padding it will be deployed with; see docs/architecture.md).
 *
 * As im2col + sgemm, with cols [P, K] (P = N*outH*outW pixels, K = kh*kw*C):
 *   forward   y = cols W^T (+ bias)                 (W viewed as [O, K])
 *   backward  dW += dy^T cols,  dbias += sum_p dy,  dcols = dy W,  dx += col2im(dcols)
 * Padding positions hold the constant padValue: they contribute to dW and not to dx.
 *
 * The cols matrix is scratch: freed right after the forward product and rebuilt in
 * backward (the heap's free list hands the same block back, so a training loop does not
 * grow memory). Backward reuses that one block for cols and then dcols.
 *
 *     const y = conv2d(x, w, { bias: b, stride: 1, padding: "same", padValue: 0 });
 */
import { convGeometry, type Padding } from "../kernels/geometry.js";
import type { Window2D } from "../kernels/types.js";
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { checkRank, contextOf } from "./grad.js";

/** Bias, stride, padding and pad value of `conv2d`. */
export interface Conv2dOptions {
  bias?: Tensor | null;
  /** One stride for both axes, or [strideH, strideW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Default 'valid'. */
  padding?: Padding;
  /** Value read outside the image; default 0. */
  padValue?: number;
}

/**
 * 2D convolution of x [N, H, W, C] with w [O, kh, kw, C] (OHWI), plus bias; differentiable in
 * x, w and bias.
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const { bias = null, stride = 1, padding = "valid", padValue = 0 } = options;
  const ctx = contextOf("conv2d", x, w, bias);
  checkRank("conv2d", "input x [N, H, W, C]", x, 4);
  checkRank("conv2d", "weights w [O, kh, kw, C]", w, 4);
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [o, kh, kw, wc] = w.shape as [number, number, number, number];
  if (wc !== c) {
    throw new Error(
      `conv2d: weights ${formatShape(w.shape)} expect ${wc} input channels, input ${formatShape(x.shape)} has ${c}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) {
    throw new Error(`conv2d: bias must be [${o}], got ${formatShape(bias.shape)}`);
  }
  const [sh, sw] = typeof stride === "number" ? [stride, stride] : stride;
  const g = convGeometry(n, h, wd, c, kh, kw, sh, sw, padding);
  const pixels = n * g.outH * g.outW;
  const k = kh * kw * c;
  const f = ctx.float;
  const heap = ctx.heap;

  const out = ctx.empty([n, g.outH, g.outW, o]);
  // When only dW is needed (a first layer), backward would rebuild this very matrix and
  // need no other scratch: keep it instead.
  const keepCols = ctx.needsGrad(w) && !ctx.needsGrad(x);
  const cols = heap.alloc(pixels * k * 4);
  try {
    f.im2col(g, x.ptr, padValue, cols);
    f.sgemm(false, true, pixels, o, k, 1, cols, k, w.ptr, k, 0, out.ptr, o);
  } finally {
    if (!keepCols) heap.free(cols);
  }
  if (bias) f.binaryRow("add", pixels, o, out.ptr, bias.ptr, out.ptr);

  recordConv2dBackward(out, x, w, bias, g, padValue, keepCols ? { savedCols: out.saveBuffer(cols) } : {});
  return out;
}

/**
 * Records conv2d's backward on `out` = conv(x, w) (+ bias) with geometry `g`, however its
 * forward was computed (the binary product in ./binaryProduct.ts computes the same values
 * with integer kernels): dW += dy^T cols, dbias += sum_p dy, dx += col2im(dy W).
 * In place of the sgemms (a binary layer's gradients use the sign GEMM),
 * `grads.wFromInput(dy, ptr, beta)` writes (beta 0) or adds (beta 1) dW = dy^T cols
 * reading the input its own way (no float im2col), and `grads.dx(dy, dx)` adds
 * col2im(dy W) into dx itself (no dcols matrix).
 */
export function recordConv2dBackward(
  out: Tensor,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: Window2D,
  padValue: number,
  grads: {
    dx?: (dy: Tensor, dx: number) => void;
    wFromInput?: (dy: Tensor, ptr: number, beta: 0 | 1) => void;
    /** im2col(x) kept from the forward pass (owned by `out`), when x needs no gradient. */
    savedCols?: number;
  } = {},
): void {
  const ctx = out.ctx;
  if (!ctx.needsGrad(x, w, bias)) return;
  const o = w.shape[0]!;
  const pixels = g.n * g.outH * g.outW;
  const k = g.kh * g.kw * g.c;
  const f = ctx.float;
  const heap = ctx.heap;
  out.setBackward(bias ? [x, w, bias] : [x, w], () => {
    const dy = out.grad!;
    if (bias?.requiresGrad) {
      const tmp = ctx.empty([o]);
      f.sumRows(pixels, o, dy.ptr, tmp.ptr);
      bias.addGrad(tmp);
    }
    if (!w.requiresGrad && !x.requiresGrad) return;
    const fromInput = grads.wFromInput;
    if (w.requiresGrad && fromInput)
      w.accumulateGrad((ptr, overwrite) => fromInput(dy, ptr, overwrite ? 0 : 1));
    const colsForW = w.requiresGrad && !fromInput;
    const fusedDx = grads.dx;
    if (x.requiresGrad && fusedDx) {
      x.accumulateGrad((ptr, overwrite) => {
        if (overwrite) f.fill(x.size, 0, ptr);
        fusedDx(dy, ptr);
      });
    }
    const dxFromCols = x.requiresGrad && !fusedDx;
    if (!colsForW && !dxFromCols) return;
    const saved = grads.savedCols !== undefined && !dxFromCols;
    const scratch = saved ? grads.savedCols! : heap.alloc(pixels * k * 4);
    try {
      if (colsForW) {
        if (!saved) f.im2col(g, x.ptr, padValue, scratch);
        w.accumulateGrad((ptr, overwrite) =>
          f.sgemm(true, false, o, k, pixels, 1, dy.ptr, o, scratch, k, overwrite ? 0 : 1, ptr, k),
        );
      }
      if (dxFromCols) {
        f.sgemm(false, false, pixels, k, o, 1, dy.ptr, o, w.ptr, k, 0, scratch, k);
        x.accumulateGrad((ptr, overwrite) => {
          if (overwrite) f.fill(x.size, 0, ptr);
          f.col2im(g, scratch, ptr);
        });
      }
    } finally {
      if (!saved) heap.free(scratch);
    }
  });
}
