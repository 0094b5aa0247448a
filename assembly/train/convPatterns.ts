// The sign patterns of a binary convolution's im2col matrix, read straight from the packed
// input: the weight gradient dW = dY^T cols runs on the sign GEMM (./signGemm.ts) with
// pat [ceil(P/8), K] bytes, bit i of pat[g, j] = the bit of cols[8g + i, j] (0 beyond P),
// where cols [P, K] is im2col of the input (K = kh*kw*C, column (ky*kw + kx)*C + ci).
// Building it from bits skips the float im2col (P*K floats written and read back) and
// the float-to-bit packing of signPatterns.
//
// xb is the input packed per pixel (src/kernels/bits.ts: ceil(C/32) words, channel ci at
// word ci >> 5, bit ci & 31); positions outside the image read padBit (1 = +1, 0 = -1).
// For each group of 8 output pixels, each tap and each word: the 8 pixels' words form an
// 8 x 32 bit block whose transpose is 32 pattern bytes (one per channel), contiguous in
// the row of pat: 4 bytes-of-8-words gathers and four 8x8 bit transposes.

/** The 8x8 bit transpose of x (row i = byte i, column j = bit j): byte j bit i = byte i bit j. */
@inline function transpose8(x: u64): u64 {
  let t = (x ^ (x >> 7)) & 0x00aa00aa00aa00aa;
  x = x ^ t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000cccc0000cccc;
  x = x ^ t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000f0f0f0f0;
  return x ^ t ^ (t << 28);
}

/** As transpose8, on both 64-bit lanes. */
@inline function transpose8x2(x: v128): v128 {
  let t = v128.and(v128.xor(x, i64x2.shr_u(x, 7)), i64x2.splat(0x00aa00aa00aa00aa));
  x = v128.xor(v128.xor(x, t), i64x2.shl(t, 7));
  t = v128.and(v128.xor(x, i64x2.shr_u(x, 14)), i64x2.splat(0x0000cccc0000cccc));
  x = v128.xor(v128.xor(x, t), i64x2.shl(t, 14));
  t = v128.and(v128.xor(x, i64x2.shr_u(x, 28)), i64x2.splat(0x00000000f0f0f0f0));
  return v128.xor(v128.xor(x, t), i64x2.shl(t, 28));
}

/** Bytes of scratch signPatternsConv needs. */
export function signPatternsConvScratchBytes(): i32 {
  return 8 * 12 + 32 + 32;
}

/**
 * Rows [g0, g1) of pat [ceil(P/8), K] of im2col(x) from the packed input xb [n*h*w,
 * ceil(c/32)] (see above); threads split the rows. scratch: signPatternsConvScratchBytes()
 * bytes (the 8 pixels' coordinates and a staging block for a partial last word).
 */
export function signPatternsConv(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  xb: usize, padBit: i32, pat: usize, g0: i32, g1: i32, scratch: usize,
): void {
  const wpp = (c + 31) >> 5;
  const k = kh * kw * c;
  const pixels = min(n * oh * ow, g1 << 3);
  const padWord: u32 = padBit ? 0xffffffff : 0;
  const coords = scratch; // per pixel of the group: image row base (b*h), iy0, ix0 (i32); b*h < 0 = no pixel
  const stage = scratch + 96;
  const first = g0 << 3;
  let b = first / (oh * ow);
  let oy = (first / ow) % oh;
  let ox = first % ow;
  for (let p0 = first; p0 < pixels; p0 += 8) {
    for (let i = 0; i < 8; i++) {
      const at = coords + <usize>(i * 12);
      if (p0 + i < pixels) {
        store<i32>(at, b * h);
        store<i32>(at, oy * sh - pt, 4);
        store<i32>(at, ox * sw - pl, 8);
        if (++ox == ow) {
          ox = 0;
          if (++oy == oh) {
            oy = 0;
            b++;
          }
        }
      } else {
        store<i32>(at, -1);
      }
    }
    const row = pat + <usize>(p0 >> 3) * <usize>k;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const tapCol = (ky * kw + kx) * c;
        for (let wi = 0; wi < wpp; wi++) {
          const dst = row + <usize>(tapCol + (wi << 5));
          const valid = min(32, c - (wi << 5));
          if (ASC_FEATURE_SIMD) {
            let lo = i32x4.splat(0);
            let hi = i32x4.splat(0);
            lo = i32x4.replace_lane(lo, 0, word(coords, 0, h, w, wpp, ky, kx, wi, xb, padWord));
            lo = i32x4.replace_lane(lo, 1, word(coords, 1, h, w, wpp, ky, kx, wi, xb, padWord));
            lo = i32x4.replace_lane(lo, 2, word(coords, 2, h, w, wpp, ky, kx, wi, xb, padWord));
            lo = i32x4.replace_lane(lo, 3, word(coords, 3, h, w, wpp, ky, kx, wi, xb, padWord));
            hi = i32x4.replace_lane(hi, 0, word(coords, 4, h, w, wpp, ky, kx, wi, xb, padWord));
            hi = i32x4.replace_lane(hi, 1, word(coords, 5, h, w, wpp, ky, kx, wi, xb, padWord));
            hi = i32x4.replace_lane(hi, 2, word(coords, 6, h, w, wpp, ky, kx, wi, xb, padWord));
            hi = i32x4.replace_lane(hi, 3, word(coords, 7, h, w, wpp, ky, kx, wi, xb, padWord));
            // Byte q of the 8 words, for q = 0, 1 (then 2, 3): one 8x8 block per 64-bit lane.
            const q01 = transpose8x2(i8x16.shuffle(lo, hi, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29));
            const q23 = transpose8x2(i8x16.shuffle(lo, hi, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31));
            if (valid == 32) {
              v128.store(dst, q01);
              v128.store(dst, q23, 16);
            } else {
              v128.store(stage, q01);
              v128.store(stage, q23, 16);
              memory.copy(dst, stage, <usize>valid);
            }
          } else {
            let x0: u64 = 0;
            let x1: u64 = 0;
            let x2: u64 = 0;
            let x3: u64 = 0;
            for (let i = 0; i < 8; i++) {
              const v = <u64>word(coords, i, h, w, wpp, ky, kx, wi, xb, padWord);
              const s = <u64>(i << 3);
              x0 |= (v & 0xff) << s;
              x1 |= ((v >> 8) & 0xff) << s;
              x2 |= ((v >> 16) & 0xff) << s;
              x3 |= ((v >> 24) & 0xff) << s;
            }
            store<u64>(stage, transpose8(x0));
            store<u64>(stage, transpose8(x1), 8);
            store<u64>(stage, transpose8(x2), 16);
            store<u64>(stage, transpose8(x3), 24);
            memory.copy(dst, stage, <usize>valid);
          }
        }
      }
    }
  }
}

/** Word wi of pixel i's tap (ky, kx): the packed input, padWord outside the image, 0 for no pixel. */
@inline function word(coords: usize, i: i32, h: i32, w: i32, wpp: i32, ky: i32, kx: i32, wi: i32, xb: usize, padWord: u32): u32 {
  const at = coords + <usize>(i * 12);
  const base = load<i32>(at);
  if (base < 0) return 0;
  const iy = load<i32>(at, 4) + ky;
  const ix = load<i32>(at, 8) + kx;
  if (<u32>iy >= <u32>h || <u32>ix >= <u32>w) return padWord;
  return load<u32>(xb + ((<usize>((base + iy) * w + ix) * <usize>wpp + <usize>wi) << 2));
}
