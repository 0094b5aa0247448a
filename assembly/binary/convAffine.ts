// The affine output of the binary convolution (conv.ts with scale != 0): float32
// z[p, o] = fround(fround(f32(dot) * scale[o]) + bias[o]), what bitAffine gives after the
// int32 conv, without the int32 tensor's round trip through memory. The tiles write their
// int32 dots into the float output's own slots (same size, same layout), and each output
// row of a filter block is converted in place while it is still in cache. f32(dot) is
// exact (|dot| <= k < 2^24), so the steps and their roundings are bitAffine's.
//
// Over the padded copy with pad 0 the tiles' dots count the border as -1: dot = dot_copy -
// corr[o], corr one row of the pad-0 table (padThresholds with every threshold 0 gives
// -(sum of the outside taps' terms), per border class).

/** Pixels [p0, p1) of out [., outC], filters [f0, f1): int32 dot - corr[f] (corr 0: none) to float in place. */
export function affineInPlace(
  out: usize, outC: i32, p0: usize, p1: usize, f0: i32, f1: i32, corr: usize, scale: usize, bias: usize,
): void {
  const rowBytes = <usize>outC << 2;
  const lo = <usize>f0 << 2;
  const hi = <usize>f1 << 2;
  for (let p = p0; p < p1; p++) {
    const po = out + p * rowBytes;
    let o = lo;
    if (ASC_FEATURE_SIMD) {
      for (; o + 16 <= hi; o += 16) {
        let d = v128.load(po + o);
        if (corr) d = i32x4.sub(d, v128.load(corr + o));
        const v = f32x4.convert_i32x4_s(d);
        v128.store(po + o, f32x4.add(f32x4.mul(v, v128.load(scale + o)), v128.load(bias + o)));
      }
    }
    for (; o < hi; o += 4) {
      const d = load<i32>(po + o) - (corr ? load<i32>(corr + o) : 0);
      store<f32>(po + o, <f32>d * load<f32>(scale + o) + load<f32>(bias + o));
    }
  }
}

/**
 * The word tiles' form (convWordTiles.ts): u16 counts of one pixel (popcounts of the
 * differences, dot = k - 2 * count) to float32 at dst, outC a multiple of 16.
 */
@inline export function countsAffine(
  counts: usize, k: i32, corr: usize, scale: usize, bias: usize, outC: i32, dst: usize,
): void {
  let q: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const kv = i32x4.splat(k);
    for (; q < <usize>outC; q += 8) {
      const v = v128.load(counts + (q << 1));
      let d0 = i32x4.sub(kv, i32x4.shl(i32x4.extend_low_i16x8_u(v), 1));
      let d1 = i32x4.sub(kv, i32x4.shl(i32x4.extend_high_i16x8_u(v), 1));
      const o = q << 2;
      if (corr) {
        d0 = i32x4.sub(d0, v128.load(corr + o));
        d1 = i32x4.sub(d1, v128.load(corr + o, 16));
      }
      const z0 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(d0), v128.load(scale + o)), v128.load(bias + o));
      const z1 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(d1), v128.load(scale + o, 16)), v128.load(bias + o, 16));
      v128.store(dst + o, z0);
      v128.store(dst + o, z1, 16);
    }
  }
  for (; q < <usize>outC; q++) {
    const o = q << 2;
    const d = k - 2 * <i32>load<u16>(counts + (q << 1)) - (corr ? load<i32>(corr + o) : 0);
    store<f32>(dst + o, <f32>d * load<f32>(scale + o) + load<f32>(bias + o));
  }
}
