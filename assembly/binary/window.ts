// Window kernels on packed NHWC bits: im2col for the binary convolution, the zero-padding
// correction, and max-pool. Input position of output (oy, ox) and tap (ky, kx):
// iy = oy * strideH - padTop + ky, ix = ox * strideW - padLeft + kx.

/** A padding word: 0 bits, or (padOne) the low `bits` bits set (0: all 32, a full word). */
@inline function padWord(padOne: i32, bits: i32): u32 {
  if (!padOne) return 0;
  return bits & 31 ? (<u32>1 << bits) - 1 : 0xffffffff;
}

/**
 * cols [n*outH*outW, kh*kw*words] from x [n, h, w, words], words = ceil(c/32). Taps
 * outside the image get the padding word: 0 bits (padOne = 0), or the c real bits set
 * (padOne = 1; tail bits stay 0).
 */
export function bitIm2col(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, padOne: i32, x: usize, cols: usize,
): void {
  const words = (c + 31) >> 5;
  const pixelBytes = <usize>words << 2;
  const padFull = padWord(padOne, 32);
  const padLast = padWord(padOne, c & 31);
  let pc = cols;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * <usize>h * <usize>w * pixelBytes;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * strideW - padLeft + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const src = image + (<usize>iy * <usize>w + <usize>ix) * pixelBytes;
              for (let q: usize = 0; q < pixelBytes; q += 4) store<u32>(pc + q, load<u32>(src + q));
            } else {
              const last = pixelBytes - 4;
              for (let q: usize = 0; q < last; q += 4) store<u32>(pc + q, padFull);
              store<u32>(pc + last, padLast);
            }
            pc += pixelBytes;
          }
        }
      }
    }
  }
}

/**
 * Zero padding: the GEMM over cols padded with 0 bits (-1) counted each padding tap as
 * dot(-1, w tap) = -sum_c w[o, tap, c]; padding 0 should contribute nothing, so add
 * sum_c w[o, tap, c] = 2 * popcount(w tap) - c for every padding tap of every output
 * pixel. Only border pixels have padding taps. out is int32 [n*outH*outW, outC].
 */
export function bitZeroPadCorrection(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, outC: i32, weights: usize, out: usize,
): void {
  const words = (c + 31) >> 5;
  const tapBytes = <usize>words << 2;
  const filterBytes = <usize>(kh * kw) * tapBytes;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      if (iy0 >= 0 && iy0 + kh <= h && ix0 >= 0 && ix0 + kw <= w) continue;
      for (let o = 0; o < outC; o++) {
        const filter = weights + <usize>o * filterBytes;
        let corr: i32 = 0;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const iy = iy0 + ky;
            const ix = ix0 + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) continue;
            const tap = filter + <usize>(ky * kw + kx) * tapBytes;
            let ones: i32 = 0;
            for (let q: usize = 0; q < tapBytes; q += 4) ones += popcnt<i32>(load<u32>(tap + q));
            corr += 2 * ones - c;
          }
        }
        for (let b = 0; b < n; b++) {
          const po = out + ((((<usize>b * <usize>outH + <usize>oy) * <usize>outW + <usize>ox) * <usize>outC + <usize>o) << 2);
          store<i32>(po, load<i32>(po) + corr);
        }
      }
    }
  }
}

/** y [n, outH, outW, words] = OR of x over the in-bounds taps of each window. */
export function bitMaxPool(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32, x: usize, y: usize,
): void {
  const words = (c + 31) >> 5;
  const pixelBytes = <usize>words << 2;
  let py = y;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * <usize>h * <usize>w * pixelBytes;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = max(oy * strideH - padTop, 0);
      const y1 = min(oy * strideH - padTop + kh, h);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = max(ox * strideW - padLeft, 0);
        const x1 = min(ox * strideW - padLeft + kw, w);
        for (let q: usize = 0; q < pixelBytes; q += 4) {
          let acc: u32 = 0;
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              acc |= load<u32>(image + (<usize>iy * <usize>w + <usize>ix) * pixelBytes + q);
            }
          }
          store<u32>(py + q, acc);
        }
        py += pixelBytes;
      }
    }
  }
}

/**
 * xp [n, outH + 2, outW + 2, words]: each image of x [n, h, w, words] inside a border for a
 * 3x3 stride-1 conv with at most one padding row or column a side: xp pixel (r, col) = x
 * pixel (r - padTop, col - padLeft) where that is in the image, else the padding word
 * (0 bits; padOne: the c real bits set).
 */
export function bitPadImages(
  n: i32, h: i32, w: i32, c: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32, padOne: i32,
  x: usize, xp: usize,
): void {
  const words = (c + 31) >> 5;
  const pixelBytes = <usize>words << 2;
  const padFull = padWord(padOne, 32);
  const padLast = padWord(padOne, c & 31);
  const hp = outH + 2;
  const wp = outW + 2;
  let pd = xp;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * <usize>h * <usize>w * pixelBytes;
    for (let r = 0; r < hp; r++) {
      const iy = r - padTop;
      for (let col = 0; col < wp; col++) {
        const ix = col - padLeft;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
          const src = image + (<usize>iy * <usize>w + <usize>ix) * pixelBytes;
          for (let q: usize = 0; q < pixelBytes; q += 4) store<u32>(pd + q, load<u32>(src + q));
        } else {
          for (let q: usize = 0; q < pixelBytes - 4; q += 4) store<u32>(pd + q, padFull);
          store<u32>(pd + pixelBytes - 4, padLast);
        }
        pd += pixelBytes;
      }
    }
  }
}
