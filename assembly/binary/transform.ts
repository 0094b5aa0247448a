// Output transforms of binary layers (docs/architecture.md, the bit contract): int32 dot values become
// packed bits through per-channel thresholds, or floats through a per-channel
// multiply-add.

/** 32 comparisons x[j] >= thr[j] packed into a word (SIMD: compare, narrow, bitmask). */
@inline function compareWord32(px: usize, pt: usize): u32 {
  if (ASC_FEATURE_SIMD) {
    const lo = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(i32x4.ge_s(v128.load(px), v128.load(pt)), i32x4.ge_s(v128.load(px, 16), v128.load(pt, 16))),
      i16x8.narrow_i32x4_s(i32x4.ge_s(v128.load(px, 32), v128.load(pt, 32)), i32x4.ge_s(v128.load(px, 48), v128.load(pt, 48))),
    );
    const hi = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(i32x4.ge_s(v128.load(px, 64), v128.load(pt, 64)), i32x4.ge_s(v128.load(px, 80), v128.load(pt, 80))),
      i16x8.narrow_i32x4_s(i32x4.ge_s(v128.load(px, 96), v128.load(pt, 96)), i32x4.ge_s(v128.load(px, 112), v128.load(pt, 112))),
    );
    return <u32>i8x16.bitmask(lo) | (<u32>i8x16.bitmask(hi) << 16);
  } else {
    return compareBits(px, pt, 32);
  }
}

@inline function compareBits(px: usize, pt: usize, count: i32): u32 {
  let w: u32 = 0;
  for (let t = 0; t < count; t++) {
    const o = <usize>t << 2;
    w |= (<u32>(load<i32>(px + o) >= load<i32>(pt + o))) << t;
  }
  return w;
}

/**
 * out [rows, ceil(c/32)]: bit (r, j) = (x[r, j] >= thr[j]) XOR flip bit j, with int32
 * x [rows, c], int32 thr [c] and packed flip [ceil(c/32)].
 */
export function bitThreshold(rows: i32, c: i32, x: usize, thr: usize, flip: usize, out: usize): void {
  const full = c >> 5;
  const rest = c & 31;
  let px = x;
  let po = out;
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < full; q++) {
      const off = <usize>q << 7;
      store<u32>(po, compareWord32(px + off, thr + off) ^ load<u32>(flip + (<usize>q << 2)));
      po += 4;
    }
    if (rest) {
      const off = <usize>full << 7;
      store<u32>(po, compareBits(px + off, thr + off, rest) ^ load<u32>(flip + (<usize>full << 2)));
      po += 4;
    }
    px += <usize>c << 2;
  }
}

/** float32 out [rows, c] = f32(x[r, j]) * scale[j] + bias[j], rounded after each op (no FMA). */
export function bitAffine(rows: i32, c: i32, x: usize, scale: usize, bias: usize, out: usize): void {
  const vecEnd = <usize>(c & ~3) << 2;
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < rows; r++) {
    const px = x + <usize>r * rowBytes;
    const po = out + <usize>r * rowBytes;
    let o: usize = 0;
    if (ASC_FEATURE_SIMD) {
      for (; o < vecEnd; o += 16) {
        const v = f32x4.convert_i32x4_s(v128.load(px + o));
        v128.store(po + o, f32x4.add(f32x4.mul(v, v128.load(scale + o)), v128.load(bias + o)));
      }
    }
    for (; o < rowBytes; o += 4) {
      store<f32>(po + o, <f32>load<i32>(px + o) * load<f32>(scale + o) + load<f32>(bias + o));
    }
  }
}

/** out [rows, words] = x XOR mask [words], word by word (flipped channels around a bit max-pool). */
export function bitXorRows(rows: i32, words: i32, x: usize, mask: usize, out: usize): void {
  const rowBytes = <usize>words << 2;
  let px = x;
  let po = out;
  for (let r = 0; r < rows; r++) {
    for (let q: usize = 0; q < rowBytes; q += 4) store<u32>(po + q, load<u32>(px + q) ^ load<u32>(mask + q));
    px += rowBytes;
    po += rowBytes;
  }
}
