/**
 * Reference elementwise kernels. Each result is rounded to float32 after every operation
 * (Math.fround), so that the WebAssembly kernels, which compute in float32, match exactly
 * for add, sub, mul, div, max, min, sqrt and the piecewise ops.
 */
import type { Heap } from "../heap.js";
import type { BinaryOp, UnaryOp } from "../types.js";

const f = Math.fround;

/** a op b in float32. max/min propagate NaN (as f32.max/f32.min do). */
export const binaryFn: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => f(a + b),
  sub: (a, b) => f(a - b),
  mul: (a, b) => f(a * b),
  div: (a, b) => f(a / b),
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b),
};

/** sign(x) = +1 for x >= 0, else -1 (sign(0) = +1, sign(NaN) = -1). */
const sign = (x: number) => (x >= 0 ? 1 : -1);

/** f(x) in float32. relu, hardtanh, abs, neg, square, sqrt propagate NaN. */
export const unaryFn: Record<UnaryOp, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  hardtanh: (x) => Math.min(Math.max(x, -1), 1),
  sign,
  approx_sign: sign,
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  square: (x) => f(x * x),
  sqrt: (x) => f(Math.sqrt(x)),
  exp: (x) => f(Math.exp(x)),
  log: (x) => f(Math.log(x)),
};

/**
 * f'(x), the (pseudo-)derivative used by backward: relu 1{x > 0}; hardtanh 1{|x| <= 1};
 * sign (the straight-through estimator) 1{|x| <= clip}, clip a float32 value (default 1); approx_sign max(0, 2 - 2|x|) in float32; neg -1; abs the mathematical sign of x (0 at 0);
 * square 2x; sqrt 0.5 / sqrt(x); exp exp(x); log 1 / x.
 */
export const unaryDerivative: Record<UnaryOp, (x: number, clip: number) => number> = {
  relu: (x) => (x > 0 ? 1 : 0),
  hardtanh: (x) => (Math.abs(x) <= 1 ? 1 : 0),
  sign: (x, clip) => (Math.abs(x) <= clip ? 1 : 0),
  approx_sign: (x) => Math.max(0, f(2 - 2 * Math.abs(x))),
  neg: () => -1,
  abs: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  square: (x) => f(2 * x),
  sqrt: (x) => f(0.5 / f(Math.sqrt(x))),
  exp: (x) => f(Math.exp(x)),
  log: (x) => f(1 / x),
};

function views(heap: Heap, n: number, ...ptrs: number[]): Float32Array[] {
  return ptrs.map((p) => heap.f32At(p, n));
}

export function refBinary(heap: Heap, op: BinaryOp, n: number, a: number, b: number, out: number): void {
  const [A, B, O] = views(heap, n, a, b, out) as [Float32Array, Float32Array, Float32Array];
  const fn = binaryFn[op];
  for (let i = 0; i < n; i++) O[i] = fn(A[i]!, B[i]!);
}

export function refBinaryRow(
  heap: Heap,
  op: BinaryOp,
  rows: number,
  cols: number,
  a: number,
  v: number,
  out: number,
): void {
  const [A, O] = views(heap, rows * cols, a, out) as [Float32Array, Float32Array];
  const V = heap.f32At(v, cols);
  const fn = binaryFn[op];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) O[r * cols + j] = fn(A[r * cols + j]!, V[j]!);
  }
}

export function refBinaryScalar(
  heap: Heap,
  op: BinaryOp,
  n: number,
  a: number,
  s: number,
  out: number,
): void {
  const [A, O] = views(heap, n, a, out) as [Float32Array, Float32Array];
  const fn = binaryFn[op];
  const s32 = f(s);
  for (let i = 0; i < n; i++) O[i] = fn(A[i]!, s32);
}

export function refUnary(heap: Heap, op: UnaryOp, n: number, x: number, out: number): void {
  const [X, O] = views(heap, n, x, out) as [Float32Array, Float32Array];
  const fn = unaryFn[op];
  for (let i = 0; i < n; i++) O[i] = fn(X[i]!);
}

/** dx = dy * f'(x), or dx += dy * f'(x) when accumulating. */
export function refUnaryBackward(
  heap: Heap,
  op: UnaryOp,
  n: number,
  x: number,
  dy: number,
  dx: number,
  accumulate: boolean,
  clip = 1,
): void {
  const [X, DY, DX] = views(heap, n, x, dy, dx) as [Float32Array, Float32Array, Float32Array];
  const d = unaryDerivative[op];
  const c = f(clip);
  for (let i = 0; i < n; i++) {
    const g = f(DY[i]! * d(X[i]!, c));
    DX[i] = accumulate ? f(DX[i]! + g) : g;
  }
}

/** y += alpha * x, alpha rounded to float32. */
export function refAxpy(heap: Heap, n: number, alpha: number, x: number, y: number): void {
  const [X, Y] = views(heap, n, x, y) as [Float32Array, Float32Array];
  const a = f(alpha);
  for (let i = 0; i < n; i++) Y[i] = f(Y[i]! + f(a * X[i]!));
}

export function refFill(heap: Heap, n: number, value: number, out: number): void {
  heap.f32At(out, n).fill(value);
}

export function refCopy(heap: Heap, n: number, x: number, out: number): void {
  heap.f32At(out, n).set(heap.f32At(x, n));
}
