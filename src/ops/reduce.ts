/**
 * Sums and means, over all elements (a [] scalar) or along one axis.
 *   sum(x)[]           = sum_i x_i,                    dx_i += g
 *   sum(x, axis)[o, i] = sum_a x[o, a, i],             dx[o, a, i] += g[o, i]
 *   mean = sum / count (a derived op: no gradient code of its own).
 * x is viewed as [outer, len, inner] around `axis`: inner = 1 uses sumCols, otherwise one
 * sumRows per outer block.
 *
 *     const loss = mean(square(sub(y, t)));
 *     const perChannel = sum(x, 0); // [N, C] -> [C]
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { mul } from "./arith.js";
import { composite } from "./grad.js";

function axisSplit(x: Tensor, axis: number): { outer: number; len: number; inner: number; axis: number } {
  const a = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) {
    throw new RangeError(`sum: axis ${axis} is out of range for shape ${formatShape(x.shape)}`);
  }
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= x.shape[i]!;
  for (let i = a + 1; i < x.rank; i++) inner *= x.shape[i]!;
  return { outer, len: x.shape[a]!, inner, axis: a };
}

/** Sum of all elements (shape []) or along `axis` (dropped, or kept as 1 with keepDims). */
export function sum(x: Tensor, axis?: number, keepDims = false): Tensor {
  const ctx = x.ctx;
  const f = ctx.float;
  if (axis === undefined) {
    const out = ctx.empty(keepDims ? x.shape.map(() => 1) : []);
    f.fill(1, f.sum(x.size, x.ptr), out.ptr);
    if (ctx.needsGrad(x)) {
      out.setBackward([x], () => {
        const g = out.grad!.item();
        x.accumulateGrad((ptr, overwrite) => {
          if (overwrite) f.fill(x.size, g, ptr);
          else f.binaryScalar("add", x.size, ptr, g, ptr);
        });
      });
    }
    return out;
  }
  const { outer, len, inner, axis: a } = axisSplit(x, axis);
  const shape = keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const out = ctx.empty(shape);
  if (inner === 1) f.sumCols(outer, len, x.ptr, out.ptr);
  else
    for (let o = 0; o < outer; o++)
      f.sumRows(len, inner, x.ptr + o * len * inner * 4, out.ptr + o * inner * 4);
  if (ctx.needsGrad(x)) {
    out.setBackward([x], () => {
      const g = out.grad!;
      x.accumulateGrad((ptr, overwrite) => {
        if (overwrite) f.fill(x.size, 0, ptr);
        if (inner === 1) {
          // dx[o, a] += g[o]: a per-row constant, no kernel for it; plain TypeScript.
          const G = g.data;
          const D = ctx.heap.f32At(ptr, x.size);
          for (let o = 0; o < outer; o++) {
            const v = G[o]!;
            for (let j = 0; j < len; j++) D[o * len + j] = Math.fround(D[o * len + j]! + v);
          }
        } else {
          for (let o = 0; o < outer; o++) {
            const block = ptr + o * len * inner * 4;
            f.binaryRow("add", len, inner, block, g.ptr + o * inner * 4, block);
          }
        }
      });
    });
  }
  return out;
}

/** Mean of all elements, or along `axis`. */
export function mean(x: Tensor, axis?: number, keepDims = false): Tensor {
  const count = axis === undefined ? x.size : axisSplit(x, axis).len;
  return composite(x.ctx, [x], () => mul(sum(x, axis, keepDims), 1 / count));
}
