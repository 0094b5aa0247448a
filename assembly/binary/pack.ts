// Bit packing (the contract is src/kernels/bits.ts): bit 1 = +1 for x >= 0, bit 0 = -1
// for x < 0 and for NaN (the comparison is false), channel j at word j >> 5, bit j & 31,
// tail bits 0.

/** Packs 32 floats at p into one word (SIMD: compare, narrow 32 -> 8 bits, bitmask). */
@inline function packWord32(p: usize): u32 {
  if (ASC_FEATURE_SIMD) {
    const z = f32x4.splat(0);
    const lo = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p), z), f32x4.ge(v128.load(p, 16), z)),
      i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p, 32), z), f32x4.ge(v128.load(p, 48), z)),
    );
    const hi = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p, 64), z), f32x4.ge(v128.load(p, 80), z)),
      i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p, 96), z), f32x4.ge(v128.load(p, 112), z)),
    );
    return <u32>i8x16.bitmask(lo) | (<u32>i8x16.bitmask(hi) << 16);
  } else {
    return packBits(p, 32);
  }
}

/** Packs `count` (<= 32) floats at p into the low bits of a word. */
@inline function packBits(p: usize, count: i32): u32 {
  let w: u32 = 0;
  for (let t = 0; t < count; t++) w |= (<u32>(load<f32>(p + (<usize>t << 2)) >= 0)) << t;
  return w;
}

/** bits [rows, ceil(c/32)] = signs of float32 x [rows, c]. */
export function bitPack(rows: i32, c: i32, x: usize, bits: usize): void {
  const full = c >> 5;
  const rest = c & 31;
  let px = x;
  let pw = bits;
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < full; q++) {
      store<u32>(pw, packWord32(px));
      px += 128;
      pw += 4;
    }
    if (rest) {
      store<u32>(pw, packBits(px, rest));
      px += <usize>rest << 2;
      pw += 4;
    }
  }
}

/** float32 out [rows, c] = +1 / -1 from bits [rows, ceil(c/32)]. */
export function bitUnpack(rows: i32, c: i32, bits: usize, out: usize): void {
  const words = (c + 31) >> 5;
  let po = out;
  for (let r = 0; r < rows; r++) {
    const pw = bits + ((<usize>r * <usize>words) << 2);
    for (let j = 0; j < c; j++) {
      const bit = (load<u32>(pw + (<usize>(j >> 5) << 2)) >> (j & 31)) & 1;
      store<f32>(po, bit ? <f32>1 : <f32>-1);
      po += 4;
    }
  }
}
