import { countsAffine } from "./convAffine";
import { bitConvTableBytes, borderClass } from "./convPadded";
import { Pixel16, Pixel8 } from "./pixel";

// Word tiles: 3x3 stride-1 convs over the padded copy at 64 or 128 channels (8 or 16 bytes a
// pixel), whose dot products are only 9 or 18 words long. There the triple3x3 tiles lose a
// third of their time to V8's spills and loop overhead (measured: 150 GMAC/s at 64
// channels against 250 for bare popcounts). Instead each output row is first copied to a
// small im2col row (9 taps of a pixel contiguous, 72 or 144 bytes), so two pixels and two
// filters are each one pointer plus constant offsets; the 2x2 tile over the whole dot
// product is unrolled and needs 11 registers (no spills), and its four counts go to a u16
// scratch row instead of through a threshold epilogue. Then 16 filters at a time are
// compared with their bounds in SIMD: dot = k - 2 * count >= thr <=> count <= (k - thr) >> 1.

/** Bytes of the word-tile scratch after the pad-0 table: bounds, counts and one im2col row. */
@inline function wordTileBytes(outC: i32, outW: i32, pixelBytes: usize): usize {
  return <usize>(16 * outC * 2 + 2 * outC * 2) + <usize>(outW + 1) * 9 * pixelBytes;
}

/**
 * Scratch bytes bitConv2d needs at `table` for the padded copy's kernels: the pad-0
 * thresholds (bitConvTableBytes) and the word tiles' bounds, counts and im2col row.
 */
export function bitConvScratchBytes(outC: i32, outW: i32, c: i32): i32 {
  return bitConvTableBytes(outC) + <i32>wordTileBytes(outC, outW, <usize>((c + 31) >> 5) << 2);
}

/** True where the word tiles apply: 64 or 128 channels, filters in one block, in steps of 16. */
@inline export function wordTiles(pixelBytes: usize, outC: i32, block: i32): bool {
  return (pixelBytes == 8 || pixelBytes == 16) && (outC & 15) == 0 && outC <= block;
}

/**
 * bounds [classes, outC] i16: (k - thr) >> 1 clamped to [-1, k] (count <= bound <=> dot >=
 * thr), from the thresholds of each border class (the pad-0 table) or from thr alone.
 */
export function wordTileBounds(k: i32, outC: i32, thr: usize, table: usize, classes: i32, bounds: usize): void {
  for (let cls = 0; cls < classes; cls++) {
    const t = classes > 1 ? table + (<usize>(cls * outC) << 2) : thr;
    for (let f = 0; f < outC; f++) {
      const v = (<i64>k - <i64>load<i32>(t + (<usize>f << 2))) >> 1;
      store<i16>(bounds + (<usize>(cls * outC + f) << 1), <i16>max(min(v, <i64>k), <i64>-1));
    }
  }
}

/** Copies the 3x3 windows of outW pixels (row at rowBase, rows inRow apart) to cols, 9P bytes each. */
@inline function wordTileRow<T>(rowBase: usize, inRow: usize, outW: i32, cols: usize): void {
  const P: usize = offsetof<T>();
  let src = rowBase;
  let dst = cols;
  for (let ox = 0; ox < outW; ox++) {
    for (let ky: usize = 0; ky < 3; ky++) {
      const s = src + ky * inRow;
      const d = dst + ky * 3 * P;
      for (let q: usize = 0; q < 3 * P; q += 8) store<u64>(d + q, load<u64>(s + q));
    }
    src += P;
    dst += 9 * P;
  }
}

/**
 * Counts (popcounts of the differences) of the two pixels at pa, pa + 9P of an im2col row
 * against every filter, in pairs: counts [2, outC] u16, rowBytes apart.
 */
@inline function wordTilePair<T>(pa: usize, weights: usize, outC: i32, counts: usize, rowBytes: usize): void {
  const P: usize = offsetof<T>();
  let pw = weights;
  let ps = counts;
  for (let f = 0; f < outC; f += 2) {
    let c0: i64 = 0, c1: i64 = 0, c2: i64 = 0, c3: i64 = 0;
    let a0: u64, a1: u64, b0: u64, b1: u64;
    if (P == 8) {
      // 9 words: straight-line code (measured 188 GMAC/s against 165-175 for loops).
      a0 = load<u64>(pa, 0);
      a1 = load<u64>(pa, 9 * P + 0);
      b0 = load<u64>(pw, 0);
      b1 = load<u64>(pw, 9 * P + 0);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 8);
      a1 = load<u64>(pa, 9 * P + 8);
      b0 = load<u64>(pw, 8);
      b1 = load<u64>(pw, 9 * P + 8);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 16);
      a1 = load<u64>(pa, 9 * P + 16);
      b0 = load<u64>(pw, 16);
      b1 = load<u64>(pw, 9 * P + 16);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 24);
      a1 = load<u64>(pa, 9 * P + 24);
      b0 = load<u64>(pw, 24);
      b1 = load<u64>(pw, 9 * P + 24);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 32);
      a1 = load<u64>(pa, 9 * P + 32);
      b0 = load<u64>(pw, 32);
      b1 = load<u64>(pw, 9 * P + 32);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 40);
      a1 = load<u64>(pa, 9 * P + 40);
      b0 = load<u64>(pw, 40);
      b1 = load<u64>(pw, 9 * P + 40);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 48);
      a1 = load<u64>(pa, 9 * P + 48);
      b0 = load<u64>(pw, 48);
      b1 = load<u64>(pw, 9 * P + 48);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 56);
      a1 = load<u64>(pa, 9 * P + 56);
      b0 = load<u64>(pw, 56);
      b1 = load<u64>(pw, 9 * P + 56);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
      a0 = load<u64>(pa, 64);
      a1 = load<u64>(pa, 9 * P + 64);
      b0 = load<u64>(pw, 64);
      b1 = load<u64>(pw, 9 * P + 64);
      c0 += popcnt<u64>(a0 ^ b0);
      c1 += popcnt<u64>(a0 ^ b1);
      c2 += popcnt<u64>(a1 ^ b0);
      c3 += popcnt<u64>(a1 ^ b1);
    } else {
      // 18 words: two a pass (measured 195-214 GMAC/s; longer bodies, V8 unrolling them
      // less well, ran at 145-190).
      let px = pa;
      let pv = pw;
      const end = pa + 9 * P;
      do {
        a0 = load<u64>(px, 0);
        a1 = load<u64>(px, 9 * P + 0);
        b0 = load<u64>(pv, 0);
        b1 = load<u64>(pv, 9 * P + 0);
        c0 += popcnt<u64>(a0 ^ b0);
        c1 += popcnt<u64>(a0 ^ b1);
        c2 += popcnt<u64>(a1 ^ b0);
        c3 += popcnt<u64>(a1 ^ b1);
        a0 = load<u64>(px, 8);
        a1 = load<u64>(px, 9 * P + 8);
        b0 = load<u64>(pv, 8);
        b1 = load<u64>(pv, 9 * P + 8);
        c0 += popcnt<u64>(a0 ^ b0);
        c1 += popcnt<u64>(a0 ^ b1);
        c2 += popcnt<u64>(a1 ^ b0);
        c3 += popcnt<u64>(a1 ^ b1);
        px += 16;
        pv += 16;
      } while (px < end);
    }
    pw += 18 * P;
    store<u32>(ps, <u32>c0 | (<u32>c1 << 16));
    store<u32>(ps + rowBytes, <u32>c2 | (<u32>c3 << 16));
    ps += 4;
  }
}

/** Output bits of one pixel: (count <= bound) XOR flip, 16 filters a step. */
@inline function wordTileBits(counts: usize, bounds: usize, flip: usize, outC: i32, dst: usize): void {
  for (let q: usize = 0; q < <usize>outC; q += 16) {
    let bits: u32 = 0;
    if (ASC_FEATURE_SIMD) {
      const lo = i16x8.le_s(v128.load(counts + (q << 1)), v128.load(bounds + (q << 1)));
      const hi = i16x8.le_s(v128.load(counts + (q << 1), 16), v128.load(bounds + (q << 1), 16));
      bits = i8x16.bitmask(i8x16.narrow_i16x8_s(lo, hi));
    } else {
      for (let j: usize = 0; j < 16; j++) {
        // Widened to i32 first: compared as i16 directly, -1 bounds came out wrong (scalar build).
        bits |= <u32>(<i32>load<i16>(counts + ((q + j) << 1)) <= <i32>load<i16>(bounds + ((q + j) << 1))) << <u32>j;
      }
    }
    store<u16>(dst + (q >> 3), <u16>bits ^ load<u16>(flip + (q >> 3)));
  }
}

/**
 * One output row of the padded copy (rowBase) through the word tiles: im2col row, pixel
 * pairs (a lone last pixel paired with a copy of itself), bits per pixel with the bounds
 * of its border class. P = offsetof<T>() bytes a pixel. scale != 0: float32 output instead
 * (convAffine.ts), dots over k bits, with zeroPad the corrections of each border class at
 * corrs [16, outC] int32.
 */
@inline function wordTileOutputRow<T>(
  rowBase: usize, padRow: usize, outW: i32, outC: i32, weights: usize,
  bounds: usize, zeroPad: bool, rowClass: i32, padLeft: i32, w: i32, flip: usize,
  out: usize, pixel: usize, owords: i32, scratch: usize, k: i32, corrs: usize, scale: usize, bias: usize,
): void {
  const P: usize = offsetof<T>();
  const counts = scratch;
  const rowBytes = <usize>outC << 1;
  const cols = scratch + 2 * rowBytes;
  wordTileRow<T>(rowBase, padRow, outW, cols);
  if (outW & 1) memory.copy(cols + <usize>outW * 9 * P, cols + <usize>(outW - 1) * 9 * P, 9 * P);
  const outBytes = <usize>(scale ? outC : owords) << 2;
  for (let ox = 0; ox < outW; ox += 2) {
    wordTilePair<T>(cols + <usize>ox * 9 * P, weights, outC, counts, rowBytes);
    for (let i = 0; i < 2 && ox + i < outW; i++) {
      const cls = zeroPad ? borderClass(rowClass, ox + i, padLeft, w) : 0;
      const dst = out + (pixel + <usize>(ox + i)) * outBytes;
      if (scale) {
        const corr = cls ? corrs + (<usize>(cls * outC) << 2) : 0;
        countsAffine(counts + <usize>i * rowBytes, k, corr, scale, bias, outC, dst);
      } else {
        wordTileBits(counts + <usize>i * rowBytes, bounds + <usize>cls * rowBytes, flip, outC, dst);
      }
    }
  }
}

// One function per pixel size, so that V8 allocates registers for each tile alone.
export function wordTileOutputRow8(
  rowBase: usize, padRow: usize, outW: i32, outC: i32, weights: usize,
  bounds: usize, zeroPad: bool, rowClass: i32, padLeft: i32, w: i32, flip: usize,
  out: usize, pixel: usize, owords: i32, scratch: usize, k: i32, corrs: usize, scale: usize, bias: usize,
): void {
  wordTileOutputRow<Pixel8>(rowBase, padRow, outW, outC, weights, bounds, zeroPad, rowClass, padLeft, w, flip,
    out, pixel, owords, scratch, k, corrs, scale, bias);
}

export function wordTileOutputRow16(
  rowBase: usize, padRow: usize, outW: i32, outC: i32, weights: usize,
  bounds: usize, zeroPad: bool, rowClass: i32, padLeft: i32, w: i32, flip: usize,
  out: usize, pixel: usize, owords: i32, scratch: usize, k: i32, corrs: usize, scale: usize, bias: usize,
): void {
  wordTileOutputRow<Pixel16>(rowBase, padRow, outW, outC, weights, bounds, zeroPad, rowClass, padLeft, w, flip,
    out, pixel, owords, scratch, k, corrs, scale, bias);
}
