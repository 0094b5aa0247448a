/** Reference reductions, accumulated in float64. */
import type { Heap } from "../heap.js";

export function refSum(heap: Heap, n: number, x: number): number {
  const X = heap.f32At(x, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += X[i]!;
  return s;
}

/** out[j] = sum_r x[r, j]. */
export function refSumRows(heap: Heap, rows: number, cols: number, x: number, out: number): void {
  const X = heap.f32At(x, rows * cols);
  const sums = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) sums[j]! += X[r * cols + j]!;
  heap.f32At(out, cols).set(sums);
}

/** out[r] = sum_j x[r, j]. */
export function refSumCols(heap: Heap, rows: number, cols: number, x: number, out: number): void {
  const X = heap.f32At(x, rows * cols);
  const O = heap.f32At(out, rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += X[r * cols + j]!;
    O[r] = s;
  }
}

/** mean[j] = sum_r x[r, j] / rows; variance[j] = sum_r (x[r, j] - mean[j])^2 / rows (two passes). */
export function refMeanVarRows(
  heap: Heap,
  rows: number,
  cols: number,
  x: number,
  mean: number,
  variance: number,
): void {
  const X = heap.f32At(x, rows * cols);
  const mu = new Float64Array(cols);
  const v = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) mu[j]! += X[r * cols + j]!;
  for (let j = 0; j < cols; j++) mu[j]! /= rows;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) v[j]! += (X[r * cols + j]! - mu[j]!) ** 2;
  }
  for (let j = 0; j < cols; j++) v[j]! /= rows;
  heap.f32At(mean, cols).set(mu);
  heap.f32At(variance, cols).set(v);
}

/** max_i |x[i]| (0 for n = 0; NaN if any element is NaN). */
export function refMaxAbs(heap: Heap, n: number, x: number): number {
  const X = heap.f32At(x, n);
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(X[i]!));
  return m;
}

export function refCountNonFinite(heap: Heap, n: number, x: number): number {
  const X = heap.f32At(x, n);
  let count = 0;
  for (let i = 0; i < n; i++) if (!Number.isFinite(X[i]!)) count++;
  return count;
}
