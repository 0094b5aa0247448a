// Pad 0 for the binary convolution over a padded copy of its input (conv.ts): the copy's
// border holds 0 bits (-1), and the thresholds of border pixels are corrected instead, one
// set per border class.

/** popcount of one filter tap (pixelBytes bytes at p). */
@inline export function tapOnes(p: usize, pixelBytes: usize): i32 {
  let ones: i32 = 0;
  for (let q: usize = 0; q < pixelBytes; q += 4) ones += popcnt<i32>(load<u32>(p + q));
  return ones;
}

/** Bytes bitConv2d needs at `table` for a padded 3x3 conv with pad 0: 25 int32 per filter. */
export function bitConvTableBytes(outC: i32): i32 {
  return 25 * outC * 4;
}

/**
 * Pad 0 over a padded copy (0 bits, i.e. -1, in the border): a window's border taps add
 * -sum_c w = c - 2 * ones(w tap) each, so dot_true = dot_copy + sum over them of
 * (2 * ones - c), and dot_true >= thr <=> dot_copy >= thr - that sum. table [16, outC]
 * int32: the thresholds per border class (bit 0: the top kernel row outside, 1: the bottom
 * row, 2: the left column, 3: the right column), clamped to int32 (exact: dots are far
 * inside it). Then [outC, 9] int32 scratch: ones per filter tap.
 */
@inline function term(tf: usize, tap: i32): i64 {
  return <i64>load<i32>(tf + (<usize>tap << 2));
}

export function padThresholds(c: i32, outC: i32, weights: usize, thr: usize, table: usize): void {
  const pixelBytes = <usize>((c + 31) >> 5) << 2;
  const terms = table + (<usize>(16 * outC) << 2);
  for (let f = 0; f < outC; f++) {
    // terms: 2 * ones - c of each tap (f's 9 int32 in the scratch after the table).
    const tf = terms + (<usize>(f * 9) << 2);
    for (let tap = 0; tap < 9; tap++) {
      store<i32>(tf + (<usize>tap << 2), 2 * tapOnes(weights + <usize>(f * 9 + tap) * pixelBytes, pixelBytes) - c);
    }
    const top = term(tf, 0) + term(tf, 1) + term(tf, 2);
    const bottom = term(tf, 6) + term(tf, 7) + term(tf, 8);
    const left = term(tf, 0) + term(tf, 3) + term(tf, 6);
    const right = term(tf, 2) + term(tf, 5) + term(tf, 8);
    const thrF = <i64>load<i32>(thr + (<usize>f << 2));
    for (let cls = 0; cls < 16; cls++) {
      // The outside taps' sum: rows and columns, each corner counted once.
      let sum: i64 = 0;
      if (cls & 1) sum += top;
      if (cls & 2) sum += bottom;
      if (cls & 4) sum += left;
      if (cls & 8) sum += right;
      if ((cls & 5) == 5) sum -= term(tf, 0);
      if ((cls & 9) == 9) sum -= term(tf, 2);
      if ((cls & 6) == 6) sum -= term(tf, 6);
      if ((cls & 10) == 10) sum -= term(tf, 8);
      const v = thrF - sum;
      store<i32>(table + (<usize>(cls * outC + f) << 2), <i32>max(min(v, <i64>i32.MAX_VALUE), <i64>i32.MIN_VALUE));
    }
  }
}

/**
 * The border class (padThresholds) of output column ox in a row of class rowClass: which
 * of its window's columns lie outside an image w pixels wide.
 */
@inline export function borderClass(rowClass: i32, ox: i32, padLeft: i32, w: i32): i32 {
  const ix0 = ox - padLeft;
  return rowClass | (ix0 < 0 ? 4 : 0) | (ix0 + 3 > w ? 8 : 0);
}

/** The thresholds of output column ox in a row of class rowClass (-1: thr for every pixel). */
@inline export function classThr(thr: usize, table: usize, outC: i32, rowClass: i32, ox: i32, padLeft: i32, w: i32): usize {
  if (rowClass < 0) return thr;
  const cls = borderClass(rowClass, ox, padLeft, w);
  return cls ? table + (<usize>(cls * outC) << 2) : thr;
}
