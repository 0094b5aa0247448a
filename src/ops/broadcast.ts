/**
 * Broadcasting (NumPy rules: shapes align at the right; a dimension of 1 stretches) for the
 * elementwise binary ops, and its adjoint `unbroadcast`, which sums a gradient back down to
 * an operand's shape. Fast paths go to the kernels (same shape, row vector [C] against
 * [..., C], one-element operand); the general strided case is plain TypeScript.
 */
import { binaryFn } from "../kernels/ref/elementwise.js";
import type { BinaryOp } from "../kernels/types.js";
import type { Context } from "../tensor/context.js";
import { formatShape, type Shape, sameShape, Tensor } from "../tensor/tensor.js";

/**
 * The shape two operands broadcast to (NumPy rules); throws naming both shapes when they do
 * not.
 */
export function broadcastShape(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`broadcast: shapes ${formatShape(a)} and ${formatShape(b)} are incompatible`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** True when `v` is a row vector (shape [C], maybe with leading 1s) against `full` [..., C]. */
export function isRowOf(v: Shape, full: Shape): boolean {
  if (v.length > full.length || full.length === 0) return false;
  const c = full[full.length - 1]!;
  if (v[v.length - 1] !== c) return false;
  for (let i = 0; i < v.length - 1; i++) if (v[i] !== 1) return false;
  return true;
}

/** Element strides of `shape` aligned to `outShape`, 0 along broadcast dimensions. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = outShape.length - shape.length + i;
    strides[j] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/** Calls visit(outIndex, aIndex, bIndex) over every element of the broadcast result. */
function forEachBroadcast(
  outShape: Shape,
  aShape: Shape,
  bShape: Shape,
  visit: (o: number, ia: number, ib: number) => void,
): void {
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const rank = outShape.length;
  const idx = new Array<number>(rank).fill(0);
  let size = 1;
  for (const d of outShape) size *= d;
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < size; o++) {
    visit(o, ia, ib);
    // Odometer increment of the multi-index, updating both operand offsets.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ia += sa[d]!;
      ib += sb[d]!;
      if (idx[d]! < outShape[d]!) break;
      ia -= sa[d]! * outShape[d]!;
      ib -= sb[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

const commutative = (op: BinaryOp) => op === "add" || op === "mul" || op === "max" || op === "min";

/** out = a op b with broadcasting, no graph. Results equal the elementwise float32 op. */
export function broadcastBinary(ctx: Context, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(a.shape, b.shape);
  const out = ctx.empty(shape);
  const k = ctx.float;
  if (sameShape(a.shape, b.shape)) {
    k.binary(op, a.size, a.ptr, b.ptr, out.ptr);
  } else if (b.size === 1 && a.size === out.size) {
    k.binaryScalar(op, a.size, a.ptr, b.item(), out.ptr);
  } else if (a.size === 1 && b.size === out.size && (commutative(op) || op === "sub")) {
    k.binaryScalar(op, b.size, b.ptr, a.item(), out.ptr);
    // s - b = -(b - s), exactly: float rounding is symmetric.
    if (op === "sub") k.unary("neg", out.size, out.ptr, out.ptr);
  } else if (isRowOf(b.shape, a.shape) && a.size === out.size) {
    const c = b.size;
    k.binaryRow(op, a.size / c, c, a.ptr, b.ptr, out.ptr);
  } else if (isRowOf(a.shape, b.shape) && b.size === out.size && (commutative(op) || op === "sub")) {
    const c = a.size;
    k.binaryRow(op, b.size / c, c, b.ptr, a.ptr, out.ptr);
    if (op === "sub") k.unary("neg", out.size, out.ptr, out.ptr);
  } else {
    const A = a.data;
    const B = b.data;
    const O = out.data;
    const fn = binaryFn[op];
    forEachBroadcast(shape, a.shape, b.shape, (o, ia, ib) => {
      O[o] = fn(A[ia]!, B[ib]!);
    });
  }
  return out;
}

/**
 * Sums `full` (a broadcast result's gradient) down to `shape`, the operand's shape.
 * Returns `full` itself when nothing was broadcast, else a new tensor.
 */
export function unbroadcast(ctx: Context, full: Tensor, shape: Shape): Tensor {
  if (sameShape(full.shape, shape)) return full;
  const out = ctx.empty(shape);
  const k = ctx.float;
  if (out.size === full.size) {
    k.copy(full.size, full.ptr, out.ptr);
  } else if (out.size === 1) {
    k.fill(1, k.sum(full.size, full.ptr), out.ptr);
  } else if (isRowOf(shape, full.shape)) {
    k.sumRows(full.size / out.size, out.size, full.ptr, out.ptr);
  } else {
    const sums = new Float64Array(out.size);
    const F = full.data;
    forEachBroadcast(full.shape, full.shape, shape, (o, _i, ib) => {
      sums[ib]! += F[o]!;
    });
    out.data.set(sums);
  }
  return out;
}

/** Wraps a number as a one-element tensor of shape [] (a constant). */
export function asTensor(ctx: Context, v: Tensor | number): Tensor {
  return v instanceof Tensor ? v : ctx.scalar(v);
}
