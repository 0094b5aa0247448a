/**
 * Shape ops. Every tensor owns its own buffer (no aliasing views, so dispose stays
 * simple): reshape copies, and its backward copies the gradient back. permute moves
 * elements: y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}] read as
 * y.shape[d] = x.shape[perm[d]]; its backward is the inverse permutation.
 *
 *     const flat = flatten(x);            // [N, H, W, C] -> [N, H*W*C]
 *     const nchw = permute(x, [0, 3, 1, 2]);
 */
import { formatShape, type Shape, shapeSize, type Tensor } from "../tensor/tensor.js";
import { passGrad } from "./grad.js";

/** Same data, new shape; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const ctx = x.ctx;
  const known = shape.filter((d) => d !== -1);
  const resolved =
    known.length < shape.length
      ? shape.map((d) => (d === -1 ? x.size / Math.max(shapeSize(known), 1) : d))
      : shape;
  if (shapeSize(resolved) !== x.size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(
      `reshape: cannot view ${formatShape(x.shape)} (${x.size} elements) as ${formatShape(shape)}`,
    );
  }
  const out = ctx.empty(resolved);
  ctx.float.copy(x.size, x.ptr, out.ptr);
  if (ctx.needsGrad(x)) out.setBackward([x], () => passGrad(x, out.grad!));
  return out;
}

/** [N, ...] -> [N, prod(...)]. */
export function flatten(x: Tensor): Tensor {
  if (x.rank < 1) throw new Error(`flatten: needs rank >= 1, got ${formatShape(x.shape)}`);
  return reshape(x, [x.shape[0]!, x.size / Math.max(x.shape[0]!, 1)]);
}

/** Row-major strides of a shape. */
function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Copies src (shape `shape`) into dst permuted by `perm`; adds when `accumulate`. */
function permuteInto(
  src: Float32Array,
  shape: Shape,
  perm: readonly number[],
  dst: Float32Array,
  accumulate: boolean,
): void {
  const inStrides = strides(shape);
  const outShape = perm.map((p) => shape[p]!);
  const step = perm.map((p) => inStrides[p]!);
  const rank = perm.length;
  const idx = new Array<number>(rank).fill(0);
  let i = 0;
  for (let o = 0; o < dst.length; o++) {
    dst[o] = accumulate ? Math.fround(dst[o]! + src[i]!) : src[i]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      i += step[d]!;
      if (idx[d]! < outShape[d]!) break;
      i -= step[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/** Reorders the axes: y.shape[d] = x.shape[perm[d]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const ctx = x.ctx;
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new Error(
      `permute: [${perm.join(",")}] is not a permutation of the axes of ${formatShape(x.shape)}`,
    );
  }
  const out = ctx.empty(perm.map((p) => x.shape[p]!));
  permuteInto(x.data, x.shape, perm, out.data, false);
  if (ctx.needsGrad(x)) {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, d) => {
      inverse[p] = d;
    });
    out.setBackward([x], () => {
      const g = out.grad!;
      x.accumulateGrad((ptr, overwrite) => {
        permuteInto(g.data, g.shape, inverse, ctx.heap.f32At(ptr, x.size), !overwrite);
      });
    });
  }
  return out;
}

/** Transpose of a 2-D tensor. */
export function transpose(x: Tensor): Tensor {
  if (x.rank !== 2) throw new Error(`transpose: needs a 2-D tensor, got ${formatShape(x.shape)}`);
  return permute(x, [1, 0]);
}
