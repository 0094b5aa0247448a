// Direct binary convolution on packed NHWC bits: no im2col copy. For an output pixel, the
// taps of one kernel row (ky) are kw input pixels side by side, i.e. kw * words contiguous
// words, and so are the same taps of a filter stored OHWI. So a pixel's dot product is kh
// contiguous segments, read in place from the input rows, and the accumulators stay in
// registers across the kh segments (im2col + GEMM wrote every patch out first, then read
// it back, and stored int32 per row of the GEMM).
//
// Interior pixels (every tap in the image) run in threes (then pairs) against pairs of
// filters, with i64 popcount accumulators as in the GEMM (i64.popcnt beats i8x16.popcnt
// on x86); 3x3 stride-1 kernels over 32, 64, 128, 256 or 512 channels have specialized
// versions with constant offsets.
// Border pixels run one at a time: in-bounds taps read the image, padding taps count the
// pad bits against the filter tap (pad -1: bits 0, so popcount(w tap); pad +1: the c real
// bits set, so c - popcount(w tap)), and pad 0 skips them and counts fewer bits, which is
// exact: dot = (counted bits) - 2 * popcount(differences). No correction pass.
//
// Output: int32 dot values [n, outH, outW, outC], or (thr != 0) the threshold transform
// fused in: bit (p, o) = (dot >= thr[o]) XOR flip bit o, packed [n, outH, outW,
// ceil(outC / 32)] words, so the int32 values never reach memory. In that form a 3x3
// stride-1 conv can also read a padded copy of its input (bitPadImages, window.ts), so that
// border pixels run in the fast tiles too; pad 0 is then compensated in the thresholds
// (convPadded.ts), and 64 and 128 channels take the word tiles (convWordTiles.ts).
// Or (scale != 0) the affine transform fused in: float32 [n, outH, outW, outC], converted
// in place row by row (convAffine.ts), with the padded copy as for thresholds.
//
// Measured limits (bench layers, this x86 under V8): the tiles here run at about 5
// instructions a popcount; 256-512 channels reach 180-220 GMAC/s against 229-253 for bare
// popcounts on registers; wider tiles, unrolled taps and i8x16.popcnt all measured slower.
//
// Filters run in blocks that stay in L1 while every pixel of a row range passes by.

import { affineInPlace } from "./convAffine";
import { epilogueRows } from "./epilogue";
import { bitConvTableBytes, borderClass, classThr, padThresholds, tapOnes } from "./convPadded";
import { wordTileBounds, wordTileOutputRow16, wordTileOutputRow8, wordTiles } from "./convWordTiles";
import { Pixel16, Pixel32, Pixel4, Pixel64, Pixel8 } from "./pixel";

const WEIGHT_BLOCK_BYTES: i32 = 32768;

@inline function xorPop32(pa: usize, pb: usize): i64 {
  return <i64>popcnt<i32>(load<u32>(pa) ^ load<u32>(pb));
}

/**
 * Writes the values of filters f, f+1 (f even, so both share an output word) for pixel
 * `pixel`; `two` is false for a lone last filter.
 */
@inline function emit2(
  out: usize, thr: usize, pixel: usize, outC: i32, owords: i32, f: i32, d0: i32, d1: i32, two: bool,
): void {
  if (thr) {
    let bits = <u32>(d0 >= load<i32>(thr + (<usize>f << 2)));
    if (two) bits |= <u32>(d1 >= load<i32>(thr + (<usize>f << 2) + 4)) << 1;
    const wa = out + ((pixel * <usize>owords + <usize>(f >>> 5)) << 2);
    store<u32>(wa, load<u32>(wa) ^ (bits << (f & 31)));
  } else {
    const po = out + ((pixel * <usize>outC + <usize>f) << 2);
    store<i32>(po, d0);
    if (two) store<i32>(po + 4, d1);
  }
}

/**
 * Two interior pixels (input windows at pa and pa + pixStep) against filters f0 .. f1 in
 * pairs: kh segments of segBytes, input rows inRow bytes apart. Inlined with constant
 * pixStep, segBytes and filterBytes for the common shapes, so that the second pixel and
 * the second filter are constant offsets of the first: the inner loop then holds two
 * pointers and four accumulators, which fit V8's registers (the general version spills).
 */
@inline function interiorPairK(
  pa: usize, pixStep: usize, inRow: usize, kh: i32, segBytes: usize, k: i32,
  weights: usize, filterBytes: usize, f0: i32, f1: i32,
  out: usize, thr: usize, pixel: usize, outC: i32, owords: i32,
): void {
  const end = (segBytes >> 3) << 3;
  const odd = (segBytes & 4) != 0;
  for (let f = f0; f < f1; f += 2) {
    // A lone last filter pairs with itself; its duplicate values are not written.
    const two = f + 1 < f1;
    let pa0 = pa;
    let pb0 = weights + <usize>f * filterBytes;
    const fd: usize = two ? filterBytes : 0;
    let c00: i64 = 0, c01: i64 = 0, c10: i64 = 0, c11: i64 = 0;
    for (let ky = 0; ky < kh; ky++) {
      for (let q: usize = 0; q < end; q += 8) {
        const a0 = load<u64>(pa0 + q);
        const a1 = load<u64>(pa0 + pixStep + q);
        const b0 = load<u64>(pb0 + q);
        const b1 = load<u64>(pb0 + fd + q);
        c00 += popcnt<u64>(a0 ^ b0);
        c01 += popcnt<u64>(a0 ^ b1);
        c10 += popcnt<u64>(a1 ^ b0);
        c11 += popcnt<u64>(a1 ^ b1);
      }
      if (odd) {
        c00 += xorPop32(pa0 + end, pb0 + end);
        c01 += xorPop32(pa0 + end, pb0 + fd + end);
        c10 += xorPop32(pa0 + pixStep + end, pb0 + end);
        c11 += xorPop32(pa0 + pixStep + end, pb0 + fd + end);
      }
      pa0 += inRow;
      pb0 += segBytes;
    }
    emit2(out, thr, pixel, outC, owords, f, k - 2 * <i32>c00, k - 2 * <i32>c01, two);
    emit2(out, thr, pixel + 1, outC, owords, f, k - 2 * <i32>c10, k - 2 * <i32>c11, two);
  }
}

/**
 * Two interior pixels of a 3x3 stride-1 conv against filter pairs f0, f0 + 2, .. < f1,
 * with P = offsetof<T>() bytes a pixel (4 or a multiple of 8). In each kernel row, the three taps are 3P
 * contiguous bytes for each pixel (the second P bytes later) and each filter (the second
 * 9P bytes later): one 64-bit lane a step, two pointers walking, every load a pointer plus
 * a constant. Two pointers and four accumulators fit V8's registers; wider bodies (all
 * taps unrolled, loads shared between the overlapping windows) spilled and ran slower.
 */
@inline function pair3x3<T>(
  pa: usize, inRow: usize, weights: usize, f0: i32, f1: i32, k: i32,
  out: usize, tA: usize, tB: usize, pixel: usize, outC: i32, owords: i32,
): void {
  const P: usize = offsetof<T>();
  for (let f = f0; f < f1; f += 2) {
    let c00: i64 = 0, c01: i64 = 0, c10: i64 = 0, c11: i64 = 0;
    let px = pa;
    let pw = weights + <usize>f * (9 * P);
    for (let ky = 0; ky < 3; ky++) {
      const rowEnd = px + ((3 * P) & ~7);
      do {
        const x0 = load<u64>(px, 0);
        const x1 = load<u64>(px, P);
        const w = load<u64>(pw, 0);
        const v = load<u64>(pw, 9 * P);
        c00 += popcnt<u64>(x0 ^ w);
        c01 += popcnt<u64>(x0 ^ v);
        c10 += popcnt<u64>(x1 ^ w);
        c11 += popcnt<u64>(x1 ^ v);
        px += 8;
        pw += 8;
      } while (px < rowEnd);
      if (P % 8 == 4) {
        // P = 4: the row's last 32-bit word.
        const x0 = load<u32>(px, 0);
        const x1 = load<u32>(px, P);
        const w = load<u32>(pw, 0);
        const v = load<u32>(pw, 9 * P);
        c00 += <i64>popcnt<u32>(x0 ^ w);
        c01 += <i64>popcnt<u32>(x0 ^ v);
        c10 += <i64>popcnt<u32>(x1 ^ w);
        c11 += <i64>popcnt<u32>(x1 ^ v);
        px += 4;
        pw += 4;
      }
      px += inRow - 3 * P;
    }
    emit2(out, tA, pixel, outC, owords, f, k - 2 * <i32>c00, k - 2 * <i32>c01, true);
    emit2(out, tB, pixel + 1, outC, owords, f, k - 2 * <i32>c10, k - 2 * <i32>c11, true);
  }
}

/**
 * pair3x3 with three pixels (windows at pa, pa + P, pa + 2P): 6 accumulators, 5 loads a
 * step for 6 popcounts (faster than pairs, measured, at every pixel size).
 */
@inline function triple3x3<T>(
  pa: usize, inRow: usize, weights: usize, f0: i32, f1: i32, k: i32,
  out: usize, tA: usize, tB: usize, tC: usize, pixel: usize, outC: i32, owords: i32,
): void {
  const P: usize = offsetof<T>();
  // Fused threshold: the three pixels' bits of the current output word gather in
  // registers and reach memory once per word (per filter pair, the stores cost as much as
  // a third of the popcounts at 32 or 64 channels).
  let b0: u32 = 0, b1: u32 = 0, b2: u32 = 0;
  const pixelWords = <usize>owords << 2;
  for (let f = f0; f < f1; f += 2) {
    let c00: i64 = 0, c01: i64 = 0, c10: i64 = 0, c11: i64 = 0, c20: i64 = 0, c21: i64 = 0;
    let px = pa;
    let pw = weights + <usize>f * (9 * P);
    for (let ky = 0; ky < 3; ky++) {
      const rowEnd = px + ((3 * P) & ~7);
      do {
        const w = load<u64>(pw, 0);
        const v = load<u64>(pw, 9 * P);
        const x0 = load<u64>(px, 0);
        c00 += popcnt<u64>(x0 ^ w);
        c01 += popcnt<u64>(x0 ^ v);
        const x1 = load<u64>(px, P);
        c10 += popcnt<u64>(x1 ^ w);
        c11 += popcnt<u64>(x1 ^ v);
        const x2 = load<u64>(px, 2 * P);
        c20 += popcnt<u64>(x2 ^ w);
        c21 += popcnt<u64>(x2 ^ v);
        px += 8;
        pw += 8;
      } while (px < rowEnd);
      if (P % 8 == 4) {
        // P = 4: the row's last 32-bit word.
        const w = load<u32>(pw, 0);
        const v = load<u32>(pw, 9 * P);
        const x0 = load<u32>(px, 0);
        c00 += <i64>popcnt<u32>(x0 ^ w);
        c01 += <i64>popcnt<u32>(x0 ^ v);
        const x1 = load<u32>(px, P);
        c10 += <i64>popcnt<u32>(x1 ^ w);
        c11 += <i64>popcnt<u32>(x1 ^ v);
        const x2 = load<u32>(px, 2 * P);
        c20 += <i64>popcnt<u32>(x2 ^ w);
        c21 += <i64>popcnt<u32>(x2 ^ v);
        px += 4;
        pw += 4;
      }
      px += inRow - 3 * P;
    }
    if (tA) {
      const at = <usize>f << 2;
      const sh = f & 31;
      b0 |= (<u32>(k - 2 * <i32>c00 >= load<i32>(tA + at)) | (<u32>(k - 2 * <i32>c01 >= load<i32>(tA + at, 4)) << 1)) << sh;
      b1 |= (<u32>(k - 2 * <i32>c10 >= load<i32>(tB + at)) | (<u32>(k - 2 * <i32>c11 >= load<i32>(tB + at, 4)) << 1)) << sh;
      b2 |= (<u32>(k - 2 * <i32>c20 >= load<i32>(tC + at)) | (<u32>(k - 2 * <i32>c21 >= load<i32>(tC + at, 4)) << 1)) << sh;
      if (sh == 30 || f + 2 >= f1) {
        const wa = out + ((pixel * <usize>owords + <usize>(f >>> 5)) << 2);
        store<u32>(wa, load<u32>(wa) ^ b0);
        store<u32>(wa + pixelWords, load<u32>(wa + pixelWords) ^ b1);
        store<u32>(wa + 2 * pixelWords, load<u32>(wa + 2 * pixelWords) ^ b2);
        b0 = 0;
        b1 = 0;
        b2 = 0;
      }
    } else {
      emit2(out, 0, pixel, outC, owords, f, k - 2 * <i32>c00, k - 2 * <i32>c01, true);
      emit2(out, 0, pixel + 1, outC, owords, f, k - 2 * <i32>c10, k - 2 * <i32>c11, true);
      emit2(out, 0, pixel + 2, outC, owords, f, k - 2 * <i32>c20, k - 2 * <i32>c21, true);
    }
  }
}

/** Three interior pixels of a specialized shape against filter pairs f0 .. f1 (f1 - f0 even). */
function interiorTriple3x3(pa: usize, pixStep: usize, inRow: usize, weights: usize, f0: i32, f1: i32, k: i32,
  out: usize, tA: usize, tB: usize, tC: usize, pixel: usize, outC: i32, owords: i32,
): void {
  if (pixStep == 4) triple3x3<Pixel4>(pa, inRow, weights, f0, f1, k, out, tA, tB, tC, pixel, outC, owords);
  else if (pixStep == 8) triple3x3<Pixel8>(pa, inRow, weights, f0, f1, k, out, tA, tB, tC, pixel, outC, owords);
  else if (pixStep == 16) triple3x3<Pixel16>(pa, inRow, weights, f0, f1, k, out, tA, tB, tC, pixel, outC, owords);
  else if (pixStep == 32) triple3x3<Pixel32>(pa, inRow, weights, f0, f1, k, out, tA, tB, tC, pixel, outC, owords);
  else triple3x3<Pixel64>(pa, inRow, weights, f0, f1, k, out, tA, tB, tC, pixel, outC, owords);
}

/** True where the specialized 3x3 kernels apply: stride 1 and 4, 8, 16, 32 or 64 bytes a pixel. */
@inline function specialized(kh: i32, kw: i32, strideW: i32, pixelBytes: usize): bool {
  return kh == 3 && kw == 3 && strideW == 1 &&
    (pixelBytes == 4 || pixelBytes == 8 || pixelBytes == 16 || pixelBytes == 32 || pixelBytes == 64);
}

/** Two interior pixels of a specialized shape against filter pairs f0 .. f1 (f1 - f0 even). */
function interiorPair3x3(pa: usize, pixelBytes: usize, inRow: usize, weights: usize, f0: i32, f1: i32, k: i32,
  out: usize, tA: usize, tB: usize, pixel: usize, outC: i32, owords: i32,
): void {
  if (pixelBytes == 4) pair3x3<Pixel4>(pa, inRow, weights, f0, f1, k, out, tA, tB, pixel, outC, owords);
  else if (pixelBytes == 8) pair3x3<Pixel8>(pa, inRow, weights, f0, f1, k, out, tA, tB, pixel, outC, owords);
  else if (pixelBytes == 16) pair3x3<Pixel16>(pa, inRow, weights, f0, f1, k, out, tA, tB, pixel, outC, owords);
  else if (pixelBytes == 32) pair3x3<Pixel32>(pa, inRow, weights, f0, f1, k, out, tA, tB, pixel, outC, owords);
  else pair3x3<Pixel64>(pa, inRow, weights, f0, f1, k, out, tA, tB, pixel, outC, owords);
}

/**
 * Any one pixel (image at `image`, window corner (iy0, ix0), possibly outside) against
 * filters f0 .. f1 in pairs.
 */
function anyPixel(
  image: usize, h: i32, w: i32, c: i32, kh: i32, kw: i32, iy0: i32, ix0: i32, padValue: i32,
  pixelBytes: usize, weights: usize, filterBytes: usize, f0: i32, f1: i32,
  out: usize, thr: usize, pixel: usize, outC: i32, owords: i32,
): void {
  // In-bounds taps of each kernel row are kx0 .. kx1 (the same for every row).
  const kx0 = min(max(-ix0, 0), kw);
  const kx1 = max(min(w - ix0, kw), kx0);
  const segBytes = <usize>(kx1 - kx0) * pixelBytes;
  const end = (segBytes >> 3) << 3;
  const odd = (segBytes & 4) != 0;
  for (let f = f0; f < f1; f += 2) {
    const two = f + 1 < f1;
    const fa = weights + <usize>f * filterBytes;
    const fb = two ? fa + filterBytes : fa;
    let c0: i64 = 0, c1: i64 = 0;
    let bits: i32 = 0;
    for (let ky = 0; ky < kh; ky++) {
      const iy = iy0 + ky;
      const inside = iy >= 0 && iy < h;
      const row = <usize>(ky * kw) * pixelBytes;
      if (inside && kx1 > kx0) {
        const pa = image + (<usize>iy * <usize>w + <usize>(ix0 + kx0)) * pixelBytes;
        const pb0 = fa + row + <usize>kx0 * pixelBytes;
        const pb1 = fb + row + <usize>kx0 * pixelBytes;
        for (let q: usize = 0; q < end; q += 8) {
          const a = load<u64>(pa + q);
          c0 += popcnt<u64>(a ^ load<u64>(pb0 + q));
          c1 += popcnt<u64>(a ^ load<u64>(pb1 + q));
        }
        if (odd) {
          c0 += xorPop32(pa + end, pb0 + end);
          c1 += xorPop32(pa + end, pb1 + end);
        }
        bits += (kx1 - kx0) * c;
      }
      if (padValue == 0) continue;
      for (let kx = 0; kx < kw; kx++) {
        if (inside && kx >= kx0 && kx < kx1) continue;
        const tap = row + <usize>kx * pixelBytes;
        const o0 = tapOnes(fa + tap, pixelBytes);
        const o1 = tapOnes(fb + tap, pixelBytes);
        c0 += <i64>(padValue > 0 ? c - o0 : o0);
        c1 += <i64>(padValue > 0 ? c - o1 : o1);
        bits += c;
      }
    }
    emit2(out, thr, pixel, outC, owords, f, bits - 2 * <i32>c0, bits - 2 * <i32>c1, two);
  }
}

/**
 * The tables of the padded copy's kernels, at `table`: for pad 0 the thresholds of each
 * border class (padThresholds; in the affine form, thresholds 0: the corrections), then,
 * for the word tiles of the threshold form, their bounds. They depend on the weights and
 * thresholds alone.
 */
function convTables(
  c: i32, outC: i32, k: i32, weights: usize, thr: usize, affine: bool, zeroPad: bool, tiles: bool, table: usize,
): void {
  if (zeroPad && affine) {
    // Thresholds 0 (row 0 of the table, read before it is written): the table then holds
    // the corrections, dot = dot_copy - table[class, o].
    memory.fill(table, 0, <usize>outC << 2);
    padThresholds(c, outC, weights, table, table);
  } else if (zeroPad) {
    padThresholds(c, outC, weights, thr, table);
  }
  if (tiles && !affine) wordTileBounds(k, outC, thr, table, zeroPad ? 16 : 1, table + <usize>bitConvTableBytes(outC));
}

/** Bytes of bitConvTables' output: the pad-0 table and the word tiles' bounds. */
export function bitConvTablesBytes(outC: i32): i32 {
  return bitConvTableBytes(outC) + 16 * outC * 2;
}

/**
 * bitConv2d's tables for a 3x3 stride-1 conv over its padded copy (xpad != 0), made once
 * for every later call (its `built` argument) instead of by each call, and so by each
 * thread's share: the same values bitConv2d would make in its own scratch. thr = 0 and
 * affine != 0: the affine form. table: bitConvTablesBytes(outC) bytes.
 */
export function bitConvTables(
  c: i32, outC: i32, padValue: i32, weights: usize, thr: usize, affine: i32, table: usize,
): void {
  const pixelBytes = <usize>((c + 31) >> 5) << 2;
  const filterBytes = 9 * <i32>pixelBytes;
  const block = max(2, (WEIGHT_BLOCK_BYTES / max(filterBytes, 1)) & ~1);
  convTables(c, outC, 9 * c, weights, thr, affine != 0, padValue == 0, wordTiles(pixelBytes, outC, block), table);
}

/**
 * Binary convolution of x [n, h, w, ceil(c/32)] with weights [outC, kh, kw, ceil(c/32)],
 * output rows rowStart .. rowEnd of every image (a thread's share). padValue is -1, 0 or
 * +1. thr = 0: out is int32 [n, outH, outW, outC]; else out gets packed bits
 * (dot >= thr[o]) XOR flip, [n, outH, outW, ceil(outC/32)] words.
 *
 * xpad != 0 (thresholds only; 3x3 stride 1 with pixels of 4..64 bytes and at most one
 * padding row or column a side): xpad holds bitPadImages of x, and every pixel runs in the
 * fast tiles, border pixels too (for pad 0 with the thresholds of padThresholds, built at
 * `table`); `table` then has bitConvScratchBytes(outC, outW, c) bytes (the word tiles'
 * scratch follows the pad-0 table), or is 0 for the triple3x3 tiles only. built != 0: the
 * tables bitConvTables made for these weights and thresholds (then only the word tiles'
 * counts and im2col row are written in `table`).
 *
 * scale != 0 (thr = 0): out is float32 [n, outH, outW, outC], fround(fround(dot * scale[o])
 * + bias[o]) as bitAffine; xpad is then used only with `table` (pad 0 keeps its
 * corrections there). epi != 0 (affine only): the epilogue program epilogue.ts runs over
 * each finished output row; epiBase is the index of out's first pixel in the tensors the
 * program names (the first image of this call times outH * outW).
 *
 * Filters fStart .. fEnd only (a thread's share where the rows are too few to share
 * evenly; 0 .. outC: all), fStart a multiple of 32 and fEnd one too or outC, so that a
 * packed word and the epilogue's channels belong to one share.
 */
export function bitConv2d(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, padValue: i32,
  outC: i32, x: usize, weights: usize, thr: usize, flip: usize, out: usize,
  rowStart: i32, rowEnd: i32, xpad: usize, table: usize, built: usize, scale: usize, bias: usize,
  epi: usize, epiBase: usize, fStart: i32, fEnd: i32,
): void {
  const words = (c + 31) >> 5;
  const pixelBytes = <usize>words << 2;
  const segBytes = <usize>kw * pixelBytes;
  const filterBytes = <usize>kh * segBytes;
  const inRow = <usize>w * pixelBytes;
  const imageBytes = <usize>h * inRow;
  const pixStep = <usize>strideW * pixelBytes;
  const owords = (outC + 31) >>> 5;
  const k = kh * kw * c;
  const block = max(2, (WEIGHT_BLOCK_BYTES / max(<i32>filterBytes, 1)) & ~1);
  // Interior output columns [oxLo, oxHi): the whole window inside the image.
  const fast = specialized(kh, kw, strideW, pixelBytes);
  const oxLo = min((padLeft + strideW - 1) / strideW, outW);
  const oxHi = max(oxLo, min(w - kw + padLeft >= 0 ? (w - kw + padLeft) / strideW + 1 : 0, outW));
  // The padded copy serves the threshold and affine forms (the int32 form has no
  // correction for pad 0 here).
  const affine = scale != 0;
  if (!thr && !(affine && table)) xpad = 0;
  const zeroPad = xpad != 0 && padValue == 0;
  const padRow = <usize>(outW + 2) * pixelBytes;
  const padImage = <usize>(outH + 2) * padRow;
  // A share of the filters (not all of them) takes the triple tiles: the word tiles run every filter.
  const allFilters = fStart == 0 && fEnd == outC;
  const tiles = xpad != 0 && table != 0 && allFilters && wordTiles(pixelBytes, outC, block);
  // The word tiles' counts and im2col row stay in this call's scratch; the pad-0 table and
  // the bounds come from `built` (bitConvTables, made once) or are made here, in `table`.
  const tileScratch = table + <usize>bitConvTableBytes(outC) + (<usize>(16 * outC) << 1);
  if (xpad != 0 && built != 0) {
    table = built;
  } else if (xpad != 0) {
    convTables(c, outC, k, weights, thr, affine, zeroPad, tiles, table);
  }
  if (thr && !(tiles && (outC & 31) == 0)) {
    // Every output word of these filters starts as its flip word; each bit is then XORed in
    // once. (The word tiles write whole words, so they need no start where outC fills its
    // last word.)
    const q0 = fStart >> 5;
    const q1 = (fEnd + 31) >> 5;
    for (let b = 0; b < n; b++) {
      for (let oy = rowStart; oy < rowEnd; oy++) {
        const pixel = (<usize>b * <usize>outH + <usize>oy) * <usize>outW;
        for (let ox = 0; ox < outW; ox++) {
          const po = out + ((pixel + <usize>ox) * <usize>owords << 2);
          for (let q = q0; q < q1; q++) store<u32>(po + (<usize>q << 2), load<u32>(flip + (<usize>q << 2)));
        }
      }
    }
  }
  const bounds = table + <usize>bitConvTableBytes(outC);
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * imageBytes;
    for (let f0 = fStart; f0 < fEnd; f0 += block) {
      const f1 = min(fEnd, f0 + block);
      const pairEnd = f0 + ((f1 - f0) & ~1);
      // The epilogue runs on each row once its last filter block is done (the row before, at
      // the top of the loop, so that every path through the row body reaches it).
      const rowsEpi = epi != 0 && affine && f1 == fEnd;
      for (let oy = rowStart; oy < rowEnd; oy++) {
        if (rowsEpi && oy > rowStart) {
          const prev = (<usize>b * <usize>outH + <usize>(oy - 1)) * <usize>outW;
          epilogueRows(epi, out, outC, prev, prev + <usize>outW, epiBase, fStart, fEnd);
        }
        const iy0 = oy * strideH - padTop;
        const rowInside = iy0 >= 0 && iy0 + kh <= h;
        const pixel = (<usize>b * <usize>outH + <usize>oy) * <usize>outW;
        let ox = 0;
        if (xpad) {
          const rowBase = xpad + <usize>b * padImage + <usize>oy * padRow;
          // -1: every pixel takes thr (pad +-1: the copy's border holds the pad bits).
          const rowClass = zeroPad ? (iy0 < 0 ? 1 : 0) | (iy0 + 3 > h ? 2 : 0) : -1;
          if (tiles) {
            if (pixelBytes == 8) {
              wordTileOutputRow8(rowBase, padRow, outW, outC, weights, bounds, zeroPad, rowClass,
                padLeft, w, flip, out, pixel, owords, tileScratch, k, table, scale, bias);
            } else {
              wordTileOutputRow16(rowBase, padRow, outW, outC, weights, bounds, zeroPad, rowClass,
                padLeft, w, flip, out, pixel, owords, tileScratch, k, table, scale, bias);
            }
            continue;
          }
          // Affine: the tiles write int32 dots of the copy (thresholds 0 select that form).
          const tileClass = affine ? -1 : rowClass;
          for (; ox + 3 <= outW && outW - ox != 4; ox += 3) {
            interiorTriple3x3(rowBase + <usize>ox * pixelBytes, pixelBytes, padRow, weights, f0, pairEnd, k, out,
              classThr(thr, table, outC, tileClass, ox, padLeft, w), classThr(thr, table, outC, tileClass, ox + 1, padLeft, w),
              classThr(thr, table, outC, tileClass, ox + 2, padLeft, w), pixel + <usize>ox, outC, owords);
          }
          for (; ox + 2 <= outW; ox += 2) {
            interiorPair3x3(rowBase + <usize>ox * pixelBytes, pixelBytes, padRow, weights, f0, pairEnd, k, out,
              classThr(thr, table, outC, tileClass, ox, padLeft, w), classThr(thr, table, outC, tileClass, ox + 1, padLeft, w),
              pixel + <usize>ox, outC, owords);
          }
          // A lone last pixel, and a lone last filter of every pixel, on the exact slow path.
          const tail = ox;
          if (affine) {
            // The tiles' dots, corrected by border class, before the exact ones join them.
            for (let p = 0; p < tail; p++) {
              const cls = zeroPad ? borderClass(rowClass, p, padLeft, w) : 0;
              const corr = cls ? table + (<usize>(cls * outC) << 2) : 0;
              affineInPlace(out, outC, pixel + <usize>p, pixel + <usize>p + 1, f0, pairEnd, corr, scale, bias);
            }
          }
          for (let p = 0; p < tail && pairEnd < f1; p++) {
            anyPixel(image, h, w, c, kh, kw, iy0, p - padLeft, padValue, pixelBytes, weights, filterBytes,
              pairEnd, f1, out, thr, pixel + <usize>p, outC, owords);
          }
          for (; ox < outW; ox++) {
            anyPixel(image, h, w, c, kh, kw, iy0, ox - padLeft, padValue, pixelBytes, weights, filterBytes,
              f0, f1, out, thr, pixel + <usize>ox, outC, owords);
          }
          if (affine) {
            affineInPlace(out, outC, pixel, pixel + <usize>tail, pairEnd, f1, 0, scale, bias);
            affineInPlace(out, outC, pixel + <usize>tail, pixel + <usize>outW, f0, f1, 0, scale, bias);
          }
          continue;
        }
        if (rowInside) {
          for (; ox < oxLo; ox++) {
            anyPixel(image, h, w, c, kh, kw, iy0, ox * strideW - padLeft, padValue, pixelBytes, weights, filterBytes,
              f0, f1, out, thr, pixel + <usize>ox, outC, owords);
          }
          const rowBase = image + <usize>iy0 * inRow;
          if (fast) {
            // Filter pairs in the specialized kernels, a lone last filter one pixel at a time.
            // Threes, then pairs; four left are two pairs (a lone pixel takes the slow path).
            for (; ox + 3 <= oxHi && oxHi - ox != 4; ox += 3) {
              const pa = rowBase + <usize>(ox - padLeft) * pixelBytes;
              interiorTriple3x3(pa, pixelBytes, inRow, weights, f0, pairEnd, k, out, thr, thr, thr, pixel + <usize>ox, outC, owords);
              if (pairEnd < f1) {
                for (let p = ox; p < ox + 3; p++) {
                  anyPixel(image, h, w, c, kh, kw, iy0, p - padLeft, padValue, pixelBytes, weights, filterBytes,
                    pairEnd, f1, out, thr, pixel + <usize>p, outC, owords);
                }
              }
            }
            for (; ox + 2 <= oxHi; ox += 2) {
              const pa = rowBase + <usize>(ox - padLeft) * pixelBytes;
              interiorPair3x3(pa, pixelBytes, inRow, weights, f0, pairEnd, k, out, thr, thr, pixel + <usize>ox, outC, owords);
              if (pairEnd < f1) {
                for (let p = ox; p < ox + 2; p++) {
                  anyPixel(image, h, w, c, kh, kw, iy0, p - padLeft, padValue, pixelBytes, weights, filterBytes,
                    pairEnd, f1, out, thr, pixel + <usize>p, outC, owords);
                }
              }
            }
          } else {
            for (; ox + 2 <= oxHi; ox += 2) {
              const pa = rowBase + <usize>(ox * strideW - padLeft) * pixelBytes;
              interiorPairK(pa, pixStep, inRow, kh, segBytes, k, weights, filterBytes, f0, f1,
                out, thr, pixel + <usize>ox, outC, owords);
            }
          }
        }
        for (; ox < outW; ox++) {
          anyPixel(image, h, w, c, kh, kw, iy0, ox * strideW - padLeft, padValue, pixelBytes, weights, filterBytes,
            f0, f1, out, thr, pixel + <usize>ox, outC, owords);
        }
        if (affine) affineInPlace(out, outC, pixel, pixel + <usize>outW, f0, f1, 0, scale, bias);
      }
      if (rowsEpi && rowEnd > rowStart) {
        const last = (<usize>b * <usize>outH + <usize>(rowEnd - 1)) * <usize>outW;
        epilogueRows(epi, out, outC, last, last + <usize>outW, epiBase, fStart, fEnd);
      }
    }
  }
}
