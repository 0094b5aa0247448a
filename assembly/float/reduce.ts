// Reductions.
//   sum:          sum_i x[i], float64 accumulators (two f64x2 lanes pairs in SIMD).
//   sumRows:      out[j] = sum_r x[r, j], accumulated in float64 row by row in `acc`
//                 (scratch of cols float64 from the caller): the same order as ref, so equal.
//   sumCols:      out[r] = sum_j x[r, j], float64.
//   meanVarRows:  mean[j] = sum_r x / rows; var[j] = sum_r (x - mean)^2 / rows, two passes in
//                 float64 with scratch of 2 * cols float64.
//   maxAbs:       max_i |x[i]|, NaN if any is NaN.
//   countNonFinite: number of i with x[i] - x[i] != 0 (NaN or +/-Inf).

/** Sum of n float32 as float64. */
@inline function sumSpan(n: i32, x: usize): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + <usize>i * 4);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
    }
    const t = f64x2.add(s0, s1);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  }
  for (; i < n; i++) s += <f64>load<f32>(x + <usize>i * 4);
  return s;
}

export function float_sum(n: i32, x: usize): f64 {
  return sumSpan(n, x);
}

export function float_sumCols(rows: i32, cols: i32, x: usize, out: usize): void {
  for (let r = 0; r < rows; r++) {
    store<f32>(out + <usize>r * 4, <f32>sumSpan(cols, x + <usize>r * cols * 4));
  }
}

/** acc[j] += x[j] (float32 promoted to float64) for j < cols. */
@inline function accumulateRow(cols: i32, x: usize, acc: usize): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(x + <usize>j * 4);
      const p = acc + <usize>j * 8;
      v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
      v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
    }
  }
  for (; j < cols; j++) {
    const p = acc + <usize>j * 8;
    store<f64>(p, load<f64>(p) + <f64>load<f32>(x + <usize>j * 4));
  }
}

/** Column sums of x [rows, cols] with rows ld floats apart (acc: cols float64 scratch). */
export function float_sumRows(rows: i32, cols: i32, ld: i32, x: usize, out: usize, acc: usize): void {
  memory.fill(acc, 0, <usize>cols * 8);
  for (let r = 0; r < rows; r++) accumulateRow(cols, x + <usize>r * ld * 4, acc);
  for (let j = 0; j < cols; j++) store<f32>(out + <usize>j * 4, <f32>load<f64>(acc + <usize>j * 8));
}

/** Column means and (biased) variances of x [rows, cols], rows ld floats apart (acc: 2 * cols float64). */
export function float_meanVarRows(rows: i32, cols: i32, ld: i32, x: usize, mean: usize, variance: usize, acc: usize): void {
  const mu = acc;
  const sq = acc + <usize>cols * 8;
  memory.fill(acc, 0, <usize>cols * 16);
  for (let r = 0; r < rows; r++) accumulateRow(cols, x + <usize>r * ld * 4, mu);
  for (let j = 0; j < cols; j++) store<f64>(mu + <usize>j * 8, load<f64>(mu + <usize>j * 8) / <f64>rows);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * ld * 4;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      // Lanes are columns, so each column still sums its rows in order, as in ref.
      for (; j + 4 <= cols; j += 4) {
        const v = v128.load(row + <usize>j * 4);
        const m = mu + <usize>j * 8;
        const q = sq + <usize>j * 8;
        const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), v128.load(m));
        const d1 = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), v128.load(m, 16));
        v128.store(q, f64x2.add(v128.load(q), f64x2.mul(d0, d0)));
        v128.store(q, f64x2.add(v128.load(q, 16), f64x2.mul(d1, d1)), 16);
      }
    }
    for (; j < cols; j++) {
      const d = <f64>load<f32>(row + <usize>j * 4) - load<f64>(mu + <usize>j * 8);
      const p = sq + <usize>j * 8;
      store<f64>(p, load<f64>(p) + d * d);
    }
  }
  for (let j = 0; j < cols; j++) {
    store<f32>(mean + <usize>j * 4, <f32>load<f64>(mu + <usize>j * 8));
    store<f32>(variance + <usize>j * 4, <f32>(load<f64>(sq + <usize>j * 8) / <f64>rows));
  }
}

export function float_maxAbs(n: i32, x: usize): f32 {
  let i = 0;
  let m: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let mv = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) mv = f32x4.max(mv, f32x4.abs(v128.load(x + <usize>i * 4)));
    m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  }
  for (; i < n; i++) m = max(m, abs(load<f32>(x + <usize>i * 4)));
  return m;
}

export function float_countNonFinite(n: i32, x: usize): i32 {
  let i = 0;
  let count = 0;
  if (ASC_FEATURE_SIMD) {
    let cv = i32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + <usize>i * 4);
      const d = f32x4.sub(v, v);
      cv = i32x4.sub(cv, f32x4.ne(d, d));
    }
    count = i32x4.extract_lane(cv, 0) + i32x4.extract_lane(cv, 1) + i32x4.extract_lane(cv, 2) + i32x4.extract_lane(cv, 3);
  }
  for (; i < n; i++) {
    const v = load<f32>(x + <usize>i * 4);
    if (v - v != 0) count++;
  }
  return count;
}
