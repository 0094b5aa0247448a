// Matrix-vector products: the sgemm cases with a single output row (m = 1), which the
// blocked kernel would pad to 5 rows and whose packing would copy all of B once more:
//   transB:  y[j] = alpha * dot(x, B[j, 0..k]) + beta * y[j]   (B stored [n, k])
//   else:    y[j] = alpha * sum_p x[p] * B[p, j] + beta * y[j]  (B stored [k, n])
// x is contiguous (the caller copies a strided row first). y[j] lives at y + j * ys bytes
// (ys = 4, or ldc * 4 when the caller computes C^T). Both read B once, in order.

import { madd } from "./vec";

/** Writes one output: alpha * v (+ beta * old unless beta = 0, which ignores old). */
@inline function put(out: usize, v: f32, alpha: f32, beta: f32): void {
  store<f32>(out, beta == 0 ? alpha * v : alpha * v + beta * load<f32>(out));
}

@inline function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** dot(x, row) over k floats. */
function dot(k: i32, x: usize, row: usize): f32 {
  let p = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    for (; p + 8 <= k; p += 8) {
      const o = <usize>p * 4;
      a0 = madd(v128.load(x + o), v128.load(row + o), a0);
      a1 = madd(v128.load(x + o, 16), v128.load(row + o, 16), a1);
    }
    s = hsum(f32x4.add(a0, a1));
  }
  for (; p < k; p++) s += load<f32>(x + <usize>p * 4) * load<f32>(row + <usize>p * 4);
  return s;
}

/** y[j] = alpha * dot(x, B[j, :]) + beta * y[j], four rows of B per pass over x. */
export function gemvRows(
  n: i32, k: i32, alpha: f32, x: usize, b: usize, ldb: i32, beta: f32, y: usize, ys: usize,
): void {
  const ld = <usize>ldb * 4;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const r0 = b + <usize>j * ld;
      const r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const o = <usize>p * 4;
        const xv = v128.load(x + o);
        a0 = madd(xv, v128.load(r0 + o), a0);
        a1 = madd(xv, v128.load(r1 + o), a1);
        a2 = madd(xv, v128.load(r2 + o), a2);
        a3 = madd(xv, v128.load(r3 + o), a3);
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; p < k; p++) {
        const o = <usize>p * 4;
        const xp = load<f32>(x + o);
        s0 += xp * load<f32>(r0 + o);
        s1 += xp * load<f32>(r1 + o);
        s2 += xp * load<f32>(r2 + o);
        s3 += xp * load<f32>(r3 + o);
      }
      const out = y + <usize>j * ys;
      put(out, s0, alpha, beta);
      put(out + ys, s1, alpha, beta);
      put(out + 2 * ys, s2, alpha, beta);
      put(out + 3 * ys, s3, alpha, beta);
    }
  }
  for (; j < n; j++) put(y + <usize>j * ys, dot(k, x, b + <usize>j * ld), alpha, beta);
}

/** y[j] = alpha * sum_p x[p] * B[p, j] + beta * y[j], 32 (then 4, then 1) columns at a time. */
export function gemvCols(
  n: i32, k: i32, alpha: f32, x: usize, b: usize, ldb: i32, beta: f32, y: usize, ys: usize,
): void {
  const ld = <usize>ldb * 4;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 32 <= n; j += 32) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
      let row = b + <usize>j * 4;
      for (let p = 0; p < k; p++) {
        const xs = v128.load32_splat(x + <usize>p * 4);
        a0 = madd(xs, v128.load(row), a0);
        a1 = madd(xs, v128.load(row, 16), a1);
        a2 = madd(xs, v128.load(row, 32), a2);
        a3 = madd(xs, v128.load(row, 48), a3);
        a4 = madd(xs, v128.load(row, 64), a4);
        a5 = madd(xs, v128.load(row, 80), a5);
        a6 = madd(xs, v128.load(row, 96), a6);
        a7 = madd(xs, v128.load(row, 112), a7);
        row += ld;
      }
      storeLanes(y + <usize>j * ys, ys, a0, alpha, beta);
      storeLanes(y + <usize>(j + 4) * ys, ys, a1, alpha, beta);
      storeLanes(y + <usize>(j + 8) * ys, ys, a2, alpha, beta);
      storeLanes(y + <usize>(j + 12) * ys, ys, a3, alpha, beta);
      storeLanes(y + <usize>(j + 16) * ys, ys, a4, alpha, beta);
      storeLanes(y + <usize>(j + 20) * ys, ys, a5, alpha, beta);
      storeLanes(y + <usize>(j + 24) * ys, ys, a6, alpha, beta);
      storeLanes(y + <usize>(j + 28) * ys, ys, a7, alpha, beta);
    }
    for (; j + 4 <= n; j += 4) {
      let a0 = f32x4.splat(0);
      let row = b + <usize>j * 4;
      for (let p = 0; p < k; p++) {
        a0 = madd(v128.load32_splat(x + <usize>p * 4), v128.load(row), a0);
        row += ld;
      }
      storeLanes(y + <usize>j * ys, ys, a0, alpha, beta);
    }
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    let row = b + <usize>j * 4;
    for (let p = 0; p < k; p++) {
      s += load<f32>(x + <usize>p * 4) * load<f32>(row);
      row += ld;
    }
    put(y + <usize>j * ys, s, alpha, beta);
  }
}

@inline function storeLanes(out: usize, ys: usize, v: v128, alpha: f32, beta: f32): void {
  put(out, f32x4.extract_lane(v, 0), alpha, beta);
  put(out + ys, f32x4.extract_lane(v, 1), alpha, beta);
  put(out + 2 * ys, f32x4.extract_lane(v, 2), alpha, beta);
  put(out + 3 * ys, f32x4.extract_lane(v, 3), alpha, beta);
}

/**
 * The same product as gemvCols, streaming B row by row (sequential reads; wide B would
 * otherwise be read in narrow strided column chunks): acc[j] += x[p..p+4] . B[p..p+4, j]
 * in a float32 accumulator row `acc` of n floats (caller scratch), then y = alpha*acc + beta*y.
 */
export function gemvColsStream(
  n: i32, k: i32, alpha: f32, x: usize, b: usize, ldb: i32, beta: f32, y: usize, ys: usize, acc: usize,
): void {
  const ld = <usize>ldb * 4;
  memory.fill(acc, 0, <usize>n * 4);
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const r0 = b + <usize>p * ld;
    const r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
    const x0 = load<f32>(x + <usize>p * 4), x1 = load<f32>(x + <usize>p * 4, 4);
    const x2 = load<f32>(x + <usize>p * 4, 8), x3 = load<f32>(x + <usize>p * 4, 12);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const v0 = f32x4.splat(x0), v1 = f32x4.splat(x1), v2 = f32x4.splat(x2), v3 = f32x4.splat(x3);
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j * 4;
        const s = f32x4.add(
          f32x4.add(f32x4.mul(v0, v128.load(r0 + o)), f32x4.mul(v1, v128.load(r1 + o))),
          f32x4.add(f32x4.mul(v2, v128.load(r2 + o)), f32x4.mul(v3, v128.load(r3 + o))),
        );
        v128.store(acc + o, f32x4.add(v128.load(acc + o), s));
      }
    }
    for (; j < n; j++) {
      const o = <usize>j * 4;
      const s = x0 * load<f32>(r0 + o) + x1 * load<f32>(r1 + o) + x2 * load<f32>(r2 + o) + x3 * load<f32>(r3 + o);
      store<f32>(acc + o, load<f32>(acc + o) + s);
    }
  }
  for (; p < k; p++) {
    const row = b + <usize>p * ld;
    const xp = load<f32>(x + <usize>p * 4);
    for (let j = 0; j < n; j++) {
      const o = <usize>j * 4;
      store<f32>(acc + o, load<f32>(acc + o) + xp * load<f32>(row + o));
    }
  }
  for (let j = 0; j < n; j++) put(y + <usize>j * ys, load<f32>(acc + <usize>j * 4), alpha, beta);
}
