/**
 * Quantizers and XNOR-Net scales as autograd ops. The math lives in ./quantizers.ts and
 * ./xnorScale.ts (plain arrays); these wrappers read and write tensor data in the heap and
 * record the pseudo-gradient as the backward closure.
 */
import type { Tensor } from "../tensor/tensor.js";
import type { QuantContext, Quantizer } from "./quantizers.js";

/**
 * y = q(x), with backward dx += q'(x) * dy (the quantizer's pseudo-gradient).
 * x must not change between forward and backward (the backward reads it).
 *
 *     const y = quantize(sign, x, { channels: 1, training: true }); // sign(x), STE backward
 */
export function quantize(q: Quantizer, x: Tensor, qctx: QuantContext): Tensor {
  const ctx = x.ctx;
  const y = ctx.empty(x.shape);
  const op = q.kernelOp;
  if (op) ctx.float.unary(op, x.size, x.ptr, y.ptr);
  else q.forward(x.data, y.data, qctx);
  if (ctx.needsGrad(x)) {
    y.setBackward([x], () => {
      const dy = y.grad!;
      x.accumulateGrad((ptr, overwrite) => {
        if (op) return ctx.float.unaryBackward(op, x.size, x.ptr, dy.ptr, ptr, !overwrite, q.kernelClip);
        if (overwrite) ctx.float.fill(x.size, 0, ptr);
        q.backward(x.data, dy.data, ctx.heap.f32At(ptr, x.size), qctx);
      });
    });
  }
  return y;
}

/**
 * y[r, j] = x[r, j] * s[r] for x viewed as [rows, cols] with rows = s.length: scales each
 * row (each output pixel of a convolution, each sample of a dense layer) by a constant.
 * Backward: dx += dy * s (s is a constant: XNOR-Net's K gets no gradient).
 */
export function scaleRows(x: Tensor, s: Float32Array): Tensor {
  const ctx = x.ctx;
  const rows = s.length;
  if (rows === 0 || x.size % rows !== 0) {
    throw new RangeError(`scaleRows: ${x.size} values do not split into ${rows} rows`);
  }
  const cols = x.size / rows;
  const y = ctx.empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let r = 0; r < rows; r++) for (let j = r * cols; j < (r + 1) * cols; j++) yd[j] = xd[j]! * s[r]!;
  if (ctx.needsGrad(x)) {
    y.setBackward([x], () => {
      const dy = y.grad!;
      x.accumulateGrad((ptr, overwrite) => {
        const dx = ctx.heap.f32At(ptr, x.size);
        const g = dy.data;
        for (let r = 0; r < rows; r++) {
          for (let j = r * cols; j < (r + 1) * cols; j++) dx[j] = (overwrite ? 0 : dx[j]!) + g[j]! * s[r]!;
        }
      });
    });
  }
  return y;
}
