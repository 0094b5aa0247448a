/**
 * Reference sgemm: C = alpha * op(A) * op(B) + beta * C, one dot product per element,
 * accumulated in float64. op(A)[i, p] = transA ? A[p, i] : A[i, p] (row-major, leading
 * dimension lda); same for B. beta = 0 ignores C's old contents (even NaN).
 */
import type { Heap } from "../heap.js";

/** A bounded float32 view of a row-major [rows, cols] matrix with leading dimension ld. */
export function matrixView(heap: Heap, ptr: number, rows: number, cols: number, ld: number): Float32Array {
  if (ld < cols) throw new RangeError(`matrix at ${ptr}: leading dimension ${ld} < ${cols} columns`);
  return heap.f32At(ptr, rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
}

export function refSgemm(
  heap: Heap,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
): void {
  const A = transA ? matrixView(heap, a, k, m, lda) : matrixView(heap, a, m, k, lda);
  const B = transB ? matrixView(heap, b, n, k, ldb) : matrixView(heap, b, k, n, ldb);
  const C = matrixView(heap, c, m, n, ldc);
  const aAt = (i: number, p: number) => (transA ? A[p * lda + i]! : A[i * lda + p]!);
  const bAt = (p: number, j: number) => (transB ? B[j * ldb + p]! : B[p * ldb + j]!);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let p = 0; p < k; p++) dot += aAt(i, p) * bAt(p, j);
      const old = beta === 0 ? 0 : beta * C[i * ldc + j]!;
      C[i * ldc + j] = alpha * dot + old;
    }
  }
}
