// Binary GEMM: out[i, j] = k - 2 * popcount(a[i] XOR b[j]) (src/kernels/bits.ts derives
// the identity), a [m, words], b [n, words], int32 out [m, n].
//
// Default path (both builds): i64.popcnt over 64-bit loads with a 2x2 register tile, so
// each loaded word of a meets two rows of b and vice versa. On x86, V8 turns i64.popcnt
// into one POPCNT instruction but expands i8x16.popcnt into about ten, so the scalar
// popcount beats the vector one even in the SIMD build (docs/architecture.md, Kernels; bench bgemm measures
// both). Columns are processed in blocks whose rows of b fit in L1, and rows of a stream.

const L1_BYTES: i32 = 16384;

// ---- i64 micro-kernels: each computes a tile of dot values and stores it ----

@inline function tail32(pa: usize, pb: usize, at: usize): i64 {
  return <i64>popcnt<i32>(load<u32>(pa + at) ^ load<u32>(pb + at));
}

@inline function tile2x2(pa0: usize, pa1: usize, pb0: usize, pb1: usize, end: usize, odd: bool, k: i32, po: usize, n: i32): void {
  let c00: i64 = 0, c01: i64 = 0, c10: i64 = 0, c11: i64 = 0;
  for (let q: usize = 0; q < end; q += 8) {
    const a0 = load<u64>(pa0 + q);
    const a1 = load<u64>(pa1 + q);
    const b0 = load<u64>(pb0 + q);
    const b1 = load<u64>(pb1 + q);
    c00 += popcnt<u64>(a0 ^ b0);
    c01 += popcnt<u64>(a0 ^ b1);
    c10 += popcnt<u64>(a1 ^ b0);
    c11 += popcnt<u64>(a1 ^ b1);
  }
  if (odd) {
    c00 += tail32(pa0, pb0, end);
    c01 += tail32(pa0, pb1, end);
    c10 += tail32(pa1, pb0, end);
    c11 += tail32(pa1, pb1, end);
  }
  const row = <usize>n << 2;
  store<i32>(po, k - 2 * <i32>c00);
  store<i32>(po + 4, k - 2 * <i32>c01);
  store<i32>(po + row, k - 2 * <i32>c10);
  store<i32>(po + row + 4, k - 2 * <i32>c11);
}

@inline function tile1x1(pa: usize, pb: usize, end: usize, odd: bool, k: i32, po: usize): void {
  let c: i64 = 0;
  for (let q: usize = 0; q < end; q += 8) c += popcnt<u64>(load<u64>(pa + q) ^ load<u64>(pb + q));
  if (odd) c += tail32(pa, pb, end);
  store<i32>(po, k - 2 * <i32>c);
}

function bgemmI64(m: i32, n: i32, words: i32, k: i32, a: usize, b: usize, out: usize): void {
  const rowBytes = <usize>words << 2;
  const end = <usize>(words >> 1) << 3;
  const odd = (words & 1) != 0;
  const block = max(2, (L1_BYTES / max(words << 2, 1)) & ~1);
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = min(n, j0 + block);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const pa0 = a + <usize>i * rowBytes;
      const pa1 = pa0 + rowBytes;
      const po = out + ((<usize>i * <usize>n) << 2);
      let j = j0;
      for (; j + 2 <= j1; j += 2) {
        const pb0 = b + <usize>j * rowBytes;
        tile2x2(pa0, pa1, pb0, pb0 + rowBytes, end, odd, k, po + (<usize>j << 2), n);
      }
      if (j < j1) {
        const pb = b + <usize>j * rowBytes;
        tile1x1(pa0, pb, end, odd, k, po + (<usize>j << 2));
        tile1x1(pa1, pb, end, odd, k, po + ((<usize>n + <usize>j) << 2));
      }
    }
    if (i < m) {
      const pa = a + <usize>i * rowBytes;
      const po = out + ((<usize>i * <usize>n) << 2);
      for (let j = j0; j < j1; j++) tile1x1(pa, b + <usize>j * rowBytes, end, odd, k, po + (<usize>j << 2));
    }
  }
}

// ---- v128 path: v128.xor + i8x16.popcnt, 8-bit lane sums widened before they overflow ----

// 8-bit lanes gain at most 8 per step: 31 steps stay below 256.
const LANE_STEPS: i32 = 31;

@inline function widen(acc8: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(acc8));
}

@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** popcount(a XOR b) over the words after the last full v128 (fewer than 4). */
@inline function tailWords(pa: usize, pb: usize, from: usize, to: usize): i32 {
  let c: i32 = 0;
  for (let q = from; q < to; q += 4) c += popcnt<i32>(load<u32>(pa + q) ^ load<u32>(pb + q));
  return c;
}

function bgemmV128Impl(m: i32, n: i32, words: i32, k: i32, a: usize, b: usize, out: usize): void {
  const rowBytes = <usize>words << 2;
  const vecEnd = <usize>(words >> 2) << 4;
  const block = max(2, (L1_BYTES / max(words << 2, 1)) & ~1);
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = min(n, j0 + block);
    for (let i = 0; i < m; i += 2) {
      // A lone last row pairs with itself; its duplicate result is simply not stored.
      const i1 = min(i + 1, m - 1);
      const pa0 = a + <usize>i * rowBytes;
      const pa1 = a + <usize>i1 * rowBytes;
      for (let j = j0; j < j1; j += 2) {
        const jj = min(j + 1, j1 - 1);
        const pb0 = b + <usize>j * rowBytes;
        const pb1 = b + <usize>jj * rowBytes;
        let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s10 = i32x4.splat(0), s11 = i32x4.splat(0);
        let q: usize = 0;
        while (q < vecEnd) {
          const stop = min(vecEnd, q + (<usize>LANE_STEPS << 4));
          let c00 = i8x16.splat(0), c01 = i8x16.splat(0), c10 = i8x16.splat(0), c11 = i8x16.splat(0);
          for (; q < stop; q += 16) {
            const a0 = v128.load(pa0 + q);
            const a1 = v128.load(pa1 + q);
            const b0 = v128.load(pb0 + q);
            const b1 = v128.load(pb1 + q);
            c00 = i8x16.add(c00, i8x16.popcnt(v128.xor(a0, b0)));
            c01 = i8x16.add(c01, i8x16.popcnt(v128.xor(a0, b1)));
            c10 = i8x16.add(c10, i8x16.popcnt(v128.xor(a1, b0)));
            c11 = i8x16.add(c11, i8x16.popcnt(v128.xor(a1, b1)));
          }
          s00 = i32x4.add(s00, widen(c00));
          s01 = i32x4.add(s01, widen(c01));
          s10 = i32x4.add(s10, widen(c10));
          s11 = i32x4.add(s11, widen(c11));
        }
        const po = out + ((<usize>i * <usize>n + <usize>j) << 2);
        store<i32>(po, k - 2 * (hsum(s00) + tailWords(pa0, pb0, vecEnd, rowBytes)));
        if (jj > j) store<i32>(po + 4, k - 2 * (hsum(s01) + tailWords(pa0, pb1, vecEnd, rowBytes)));
        if (i1 > i) {
          const po1 = po + (<usize>n << 2);
          store<i32>(po1, k - 2 * (hsum(s10) + tailWords(pa1, pb0, vecEnd, rowBytes)));
          if (jj > j) store<i32>(po1 + 4, k - 2 * (hsum(s11) + tailWords(pa1, pb1, vecEnd, rowBytes)));
        }
      }
    }
  }
}

/**
 * Binary GEMM, the default (fastest measured) path: i64.popcnt with a 2x2 tile; rows of 9
 * words (3x3 convs over up to 32 channels) with a 3x2 tile at constant offsets.
 */
export function bgemm(m: i32, n: i32, words: i32, k: i32, a: usize, b: usize, out: usize): void {
  if (words == 9) bgemmWords9(m, n, k, a, b, out);
  else bgemmI64(m, n, words, k, a, b, out);
}

/**
 * Binary GEMM with v128.xor + i8x16.popcnt (SIMD build; the scalar build falls back to
 * the i64 path). Kept for the benchmark that justifies the default.
 */
export function bgemmV128(m: i32, n: i32, words: i32, k: i32, a: usize, b: usize, out: usize): void {
  if (ASC_FEATURE_SIMD) {
    bgemmV128Impl(m, n, words, k, a, b, out);
  } else {
    bgemmI64(m, n, words, k, a, b, out);
  }
}

// ---- 9-word rows (the im2col rows of a 3x3 conv over at most 32 channels) ----

/**
 * 3 rows of a x 2 rows of b over 9 words: rows at constant offsets (36 bytes apart) of
 * two pointers, so the tile holds 6 accumulators without spilling the row pointers.
 */
@inline function tile3x2Words9(pa: usize, pb: usize, k: i32, po: usize, n: i32): void {
  let c00: i64 = 0, c01: i64 = 0, c10: i64 = 0, c11: i64 = 0, c20: i64 = 0, c21: i64 = 0;
  for (let q: usize = 0; q < 32; q += 8) {
    const b0 = load<u64>(pb + q, 0);
    const b1 = load<u64>(pb + q, 36);
    const a0 = load<u64>(pa + q, 0);
    c00 += popcnt<u64>(a0 ^ b0);
    c01 += popcnt<u64>(a0 ^ b1);
    const a1 = load<u64>(pa + q, 36);
    c10 += popcnt<u64>(a1 ^ b0);
    c11 += popcnt<u64>(a1 ^ b1);
    const a2 = load<u64>(pa + q, 72);
    c20 += popcnt<u64>(a2 ^ b0);
    c21 += popcnt<u64>(a2 ^ b1);
  }
  const b0 = load<u32>(pb, 32);
  const b1 = load<u32>(pb, 68);
  const a0 = load<u32>(pa, 32);
  c00 += <i64>popcnt<u32>(a0 ^ b0);
  c01 += <i64>popcnt<u32>(a0 ^ b1);
  const a1 = load<u32>(pa, 68);
  c10 += <i64>popcnt<u32>(a1 ^ b0);
  c11 += <i64>popcnt<u32>(a1 ^ b1);
  const a2 = load<u32>(pa, 104);
  c20 += <i64>popcnt<u32>(a2 ^ b0);
  c21 += <i64>popcnt<u32>(a2 ^ b1);
  const row = <usize>n << 2;
  store<i32>(po, k - 2 * <i32>c00);
  store<i32>(po, k - 2 * <i32>c01, 4);
  store<i32>(po + row, k - 2 * <i32>c10);
  store<i32>(po + row, k - 2 * <i32>c11, 4);
  store<i32>(po + 2 * row, k - 2 * <i32>c20);
  store<i32>(po + 2 * row, k - 2 * <i32>c21, 4);
}

/**
 * bgemm for words = 9: 3x2 tiles over column blocks that fit L1 (as bgemmI64), a lone last
 * column one row at a time, the last m % 3 rows by bgemmI64.
 */
function bgemmWords9(m: i32, n: i32, k: i32, a: usize, b: usize, out: usize): void {
  const m3 = m - m % 3;
  const block = (L1_BYTES / 36) & ~1;
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = min(n, j0 + block);
    const j2 = j0 + ((j1 - j0) & ~1);
    for (let i = 0; i < m3; i += 3) {
      const pa = a + <usize>i * 36;
      const po = out + ((<usize>i * <usize>n) << 2);
      for (let j = j0; j < j2; j += 2) tile3x2Words9(pa, b + <usize>j * 36, k, po + (<usize>j << 2), n);
      if (j2 < j1) {
        const pb = b + <usize>j2 * 36;
        for (let r = 0; r < 3; r++) {
          tile1x1(pa + <usize>r * 36, pb, 32, true, k, po + ((<usize>r * <usize>n + <usize>j2) << 2));
        }
      }
    }
  }
  if (m3 < m) bgemmI64(m - m3, n, 9, k, a + <usize>m3 * 36, b, out + ((<usize>m3 * <usize>n) << 2));
}
