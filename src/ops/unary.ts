/**
 * Elementwise unary ops, y = f(x), dx += g * f'(x) with f' evaluated at the forward input
 * (the kernels' `unaryBackward`). Activations and the straight-through sign:
 *   relu(x) = max(x, 0),             f' = 1{x > 0}
 *   hardtanh(x) = clip(x, -1, 1),    f' = 1{|x| <= 1}
 *   signSte(x) = +1 if x >= 0 else -1 (sign(0) = +1), pseudo-gradient 1{|x| <= 1}
 *     (the straight-through estimator of BNN, Hubara et al. 2016)
 * and neg, abs (f' = sign(x), 0 at 0), square, sqrt, exp, log.
 *
 *     const h = signSte(hardtanh(x));
 */
import type { UnaryOp } from "../kernels/types.js";
import type { Tensor } from "../tensor/tensor.js";

function unary(op: UnaryOp, x: Tensor): Tensor {
  const ctx = x.ctx;
  const out = ctx.empty(x.shape);
  ctx.float.unary(op, x.size, x.ptr, out.ptr);
  if (ctx.needsGrad(x)) {
    out.setBackward([x], () => {
      const g = out.grad!;
      x.accumulateGrad((ptr, overwrite) =>
        ctx.float.unaryBackward(op, x.size, x.ptr, g.ptr, ptr, !overwrite),
      );
    });
  }
  return out;
}

/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/** clip(x, -1, 1). */
export const hardtanh = (x: Tensor): Tensor => unary("hardtanh", x);
/** +1 for x >= 0, else -1, with the straight-through pseudo-gradient 1{|x| <= 1}. */
export const signSte = (x: Tensor): Tensor => unary("sign", x);
/** -x. */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** |x| (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/** x * x. */
export const square = (x: Tensor): Tensor => unary("square", x);
/** The square root of x. */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** e^x. */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** The natural logarithm of x. */
export const log = (x: Tensor): Tensor => unary("log", x);
