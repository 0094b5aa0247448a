// Depthwise convolution forward with the reference's semantics (src/kernels/ref/depthwise.ts,
// shared with the training op): y[n, oy, ox, c] = f32(sum over the in-bounds taps, in
// (ky, kx) order, of f64(x) * f64(w)), the sum in float64 and rounded once. A product of
// two float32 is exact in float64, and each lane of f64x2 does the reference's add, so
// every channel's value is the reference's to the bit. Channels run in blocks of 8 (four
// f64x2 sums: independent adds in flight), then pairs, then one.

@inline function pairAt(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

export function float_depthwise(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, weights: usize, y: usize,
): void {
  const pixelBytes = <usize>c << 2;
  const inRow = <usize>w * pixelBytes;
  const tapRow = <usize>kw * pixelBytes;
  let po = y;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * <usize>h * inRow;
    for (let oy = 0; oy < oh; oy++) {
      const iy0 = oy * sh - pt;
      const ky0 = max(-iy0, 0);
      const ky1 = min(h - iy0, kh);
      for (let ox = 0; ox < ow; ox++) {
        const ix0 = ox * sw - pl;
        const kx0 = max(-ix0, 0);
        const kx1 = min(w - ix0, kw);
        // Window corner (may lie outside; only in-bounds taps are read).
        const base = image + <usize>(iy0 * w + ix0) * pixelBytes;
        let j: usize = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 32 <= pixelBytes; j += 32) {
            let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
            for (let ky = ky0; ky < ky1; ky++) {
              for (let kx = kx0; kx < kx1; kx++) {
                const px = base + <usize>(ky * w + kx) * pixelBytes + j;
                const pw = weights + <usize>ky * tapRow + <usize>kx * pixelBytes + j;
                s0 = f64x2.add(s0, f64x2.mul(pairAt(px), pairAt(pw)));
                s1 = f64x2.add(s1, f64x2.mul(pairAt(px + 8), pairAt(pw + 8)));
                s2 = f64x2.add(s2, f64x2.mul(pairAt(px + 16), pairAt(pw + 16)));
                s3 = f64x2.add(s3, f64x2.mul(pairAt(px + 24), pairAt(pw + 24)));
              }
            }
            store<i64>(po + j, i64x2.extract_lane(f32x4.demote_f64x2_zero(s0), 0));
            store<i64>(po + j + 8, i64x2.extract_lane(f32x4.demote_f64x2_zero(s1), 0));
            store<i64>(po + j + 16, i64x2.extract_lane(f32x4.demote_f64x2_zero(s2), 0));
            store<i64>(po + j + 24, i64x2.extract_lane(f32x4.demote_f64x2_zero(s3), 0));
          }
          for (; j + 8 <= pixelBytes; j += 8) {
            let s0 = f64x2.splat(0);
            for (let ky = ky0; ky < ky1; ky++) {
              for (let kx = kx0; kx < kx1; kx++) {
                const px = base + <usize>(ky * w + kx) * pixelBytes + j;
                const pw = weights + <usize>ky * tapRow + <usize>kx * pixelBytes + j;
                s0 = f64x2.add(s0, f64x2.mul(pairAt(px), pairAt(pw)));
              }
            }
            store<i64>(po + j, i64x2.extract_lane(f32x4.demote_f64x2_zero(s0), 0));
          }
        }
        for (; j < pixelBytes; j += 4) {
          let s: f64 = 0;
          for (let ky = ky0; ky < ky1; ky++) {
            for (let kx = kx0; kx < kx1; kx++) {
              const px = base + <usize>(ky * w + kx) * pixelBytes + j;
              const pw = weights + <usize>ky * tapRow + <usize>kx * pixelBytes + j;
              s += <f64>load<f32>(px) * <f64>load<f32>(pw);
            }
          }
          store<f32>(po + j, <f32>s);
        }
        po += pixelBytes;
      }
    }
  }
}
