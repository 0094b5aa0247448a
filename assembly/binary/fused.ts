// Fused float first layer of a binary network, for inference: float convolution ->
// optional max pool -> optional eval batch norm -> sign, written as packed bits. It
// replaces im2col + sgemm + bias + maxPool + batch norm + pack (five passes over float
// buffers) with one pass that keeps a pixel's outputs in registers. The same convolution
// alone, with a float output (floatConvRows, at the end), runs the stems of residual
// networks, whose float output feeds their first shortcut.
//
// Exactness: every value is rounded as the training graph rounds it. The convolution sums
// patch[p] * w[p, o] for p = 0, 1, ..., K-1 in order, each product and each sum rounded to
// float32 (madd: f32x4.mul then f32x4.add; one fused step in the relaxed build, as the
// sgemm's), starting from 0: the order of the sgemm micro-kernel when K fits one depth
// block (the caller checks K <= 384). Then + bias,
// max over the in-bounds taps of the pool window, ((y - mean) * invStd) * gamma + beta,
// and bit = y >= 0 (NaN gives 0), as the bitpack kernel.
//
// Layouts: x [n, h, w, c] float32 (NHWC); wT [K, outC] float32, K = kh * kw * c in im2col
// order (ky * kw + kx) * c + ci (the OHWI weights transposed); bias, mean, invStd, gamma,
// beta [outC] (0 = absent; the batch norm needs all four); out [n, poolOutH, poolOutW,
// ceil(outC / 32)] uint32 words; scratch holds K + 2 * outC + 4 float32.

import { madd } from "../float/vec";

/**
 * best[o] = y[o] (first tap) or y[o] if y[o] > best[o], with y[o] = sum_p patch[p] * wT[p, o]
 * in order of p (float32 steps) + bias[o]. The patch is kh rows of rowLen floats, rowBytes
 * apart: the patch buffer (rowBytes = rowLen * 4) or, for a window inside the image, the
 * input itself (rowBytes = a row of the image; no copy).
 */
function convPixelMax(
  patch: usize, rowBytes: usize, rowLen: i32, kh: i32, wT: usize, outC: i32, bias: usize, first: bool, best: usize,
): void {
  let o = 0;
  const stride = <usize>outC << 2;
  const rowEnd = <usize>rowLen << 2;
  if (ASC_FEATURE_SIMD) {
    // 32 channels at a time: eight accumulators, one splat of patch[p] per eight products.
    for (; o + 32 <= outC; o += 32) {
      const at = <usize>o << 2;
      let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
      let pw = wT + at;
      let row = patch;
      for (let ky = 0; ky < kh; ky++) {
        for (let q: usize = 0; q < rowEnd; q += 4) {
          const a = v128.load32_splat(row + q);
          s0 = madd(a, v128.load(pw), s0);
          s1 = madd(a, v128.load(pw, 16), s1);
          s2 = madd(a, v128.load(pw, 32), s2);
          s3 = madd(a, v128.load(pw, 48), s3);
          s4 = madd(a, v128.load(pw, 64), s4);
          s5 = madd(a, v128.load(pw, 80), s5);
          s6 = madd(a, v128.load(pw, 96), s6);
          s7 = madd(a, v128.load(pw, 112), s7);
          pw += stride;
        }
        row += rowBytes;
      }
      mergeMax(s0, bias, first, best, at);
      mergeMax(s1, bias, first, best, at + 16);
      mergeMax(s2, bias, first, best, at + 32);
      mergeMax(s3, bias, first, best, at + 48);
      mergeMax(s4, bias, first, best, at + 64);
      mergeMax(s5, bias, first, best, at + 80);
      mergeMax(s6, bias, first, best, at + 96);
      mergeMax(s7, bias, first, best, at + 112);
    }
  }
  if (o < outC) {
    const at = <usize>o << 2;
    convPixelMaxFrom(patch, rowBytes, rowLen, kh, wT + at, stride, outC - o, bias ? bias + at : 0, first, best + at);
  }
}

/**
 * convPixelMax for two conv pixels: A merged into best (or stored, first), then B into
 * bestB (or stored, firstB). For two pixels of one pool window bestB is best and firstB
 * false (B merged after A, the order of the taps); the direct conv stores both. Sixteen
 * channels at a time: each weight vector loaded once for both pixels, eight accumulators
 * (more spill in V8). SIMD build only.
 */
function convPixelMax2(
  pa: usize, rowBytesA: usize, pb: usize, rowBytesB: usize, rowLen: i32, kh: i32,
  wT: usize, outC: i32, bias: usize, first: bool, best: usize, firstB: bool, bestB: usize,
): void {
  const stride = <usize>outC << 2;
  const rowEnd = <usize>rowLen << 2;
  let o = 0;
  for (; o + 16 <= outC; o += 16) {
    const at = <usize>o << 2;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    let pw = wT + at;
    let rowA = pa;
    let rowB = pb;
    for (let ky = 0; ky < kh; ky++) {
      for (let q: usize = 0; q < rowEnd; q += 4) {
        const x = v128.load32_splat(rowA + q);
        const y = v128.load32_splat(rowB + q);
        const w0 = v128.load(pw);
        a0 = madd(x, w0, a0);
        b0 = madd(y, w0, b0);
        const w1 = v128.load(pw, 16);
        a1 = madd(x, w1, a1);
        b1 = madd(y, w1, b1);
        const w2 = v128.load(pw, 32);
        a2 = madd(x, w2, a2);
        b2 = madd(y, w2, b2);
        const w3 = v128.load(pw, 48);
        a3 = madd(x, w3, a3);
        b3 = madd(y, w3, b3);
        pw += stride;
      }
      rowA += rowBytesA;
      rowB += rowBytesB;
    }
    mergeMax(a0, bias, first, best, at);
    mergeMax(a1, bias, first, best, at + 16);
    mergeMax(a2, bias, first, best, at + 32);
    mergeMax(a3, bias, first, best, at + 48);
    mergeMax(b0, bias, firstB, bestB, at);
    mergeMax(b1, bias, firstB, bestB, at + 16);
    mergeMax(b2, bias, firstB, bestB, at + 32);
    mergeMax(b3, bias, firstB, bestB, at + 48);
  }
  if (o < outC) {
    // The last channels one pixel at a time (same values, same merge order).
    const rest = outC - o;
    const at = <usize>o << 2;
    convPixelMaxFrom(pa, rowBytesA, rowLen, kh, wT + at, stride, rest, bias ? bias + at : 0, first, best + at);
    convPixelMaxFrom(pb, rowBytesB, rowLen, kh, wT + at, stride, rest, bias ? bias + at : 0, firstB, bestB + at);
  }
}

/** convPixelMax over `count` channels whose weights start at wT (rows `stride` bytes apart). */
function convPixelMaxFrom(
  patch: usize, rowBytes: usize, rowLen: i32, kh: i32, wT: usize, stride: usize, count: i32,
  bias: usize, first: bool, best: usize,
): void {
  const rowEnd = <usize>rowLen << 2;
  let o = 0;
  for (; ASC_FEATURE_SIMD && o + 4 <= count; o += 4) {
    const at = <usize>o << 2;
    let s = f32x4.splat(0);
    let pw = wT + at;
    let row = patch;
    for (let ky = 0; ky < kh; ky++) {
      for (let q: usize = 0; q < rowEnd; q += 4) {
        s = madd(v128.load32_splat(row + q), v128.load(pw), s);
        pw += stride;
      }
      row += rowBytes;
    }
    mergeMax(s, bias, first, best, at);
  }
  for (; o < count; o++) {
    const at = <usize>o << 2;
    let y: f32 = 0;
    let pw = wT + at;
    let row = patch;
    for (let ky = 0; ky < kh; ky++) {
      for (let q: usize = 0; q < rowEnd; q += 4) {
        y = y + load<f32>(row + q) * load<f32>(pw);
        pw += stride;
      }
      row += rowBytes;
    }
    if (bias) y = y + load<f32>(bias + at);
    if (first || y > load<f32>(best + at)) store<f32>(best + at, y);
  }
}

/** best[at..] = s + bias (first tap) or the lanes of it that exceed best. */
@inline function mergeMax(s: v128, bias: usize, first: bool, best: usize, at: usize): void {
  if (bias) s = f32x4.add(s, v128.load(bias + at));
  if (first) v128.store(best + at, s);
  else {
    const b = v128.load(best + at);
    v128.store(best + at, v128.bitselect(s, b, f32x4.gt(s, b)));
  }
}

/** Packs sign(bn(best)) of one output pixel into words at `dst`. */
function bnPack(best: usize, outC: i32, mean: usize, invStd: usize, gamma: usize, beta: usize, dst: usize): void {
  const words = (outC + 31) >>> 5;
  for (let wd = 0; wd < words; wd++) store<u32>(dst + (<usize>wd << 2), 0);
  let o = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; o + 4 <= outC; o += 4) {
      const at = <usize>o << 2;
      let y = v128.load(best + at);
      if (mean) {
        y = f32x4.mul(f32x4.sub(y, v128.load(mean + at)), v128.load(invStd + at));
        y = f32x4.add(f32x4.mul(v128.load(gamma + at), y), v128.load(beta + at));
      }
      const m = <u32>i32x4.bitmask(f32x4.ge(y, zero));
      const wa = dst + (<usize>(o >>> 5) << 2);
      store<u32>(wa, load<u32>(wa) | (m << (o & 31)));
    }
  }
  for (; o < outC; o++) {
    const at = <usize>o << 2;
    let y = load<f32>(best + at);
    if (mean) {
      y = (y - load<f32>(mean + at)) * load<f32>(invStd + at);
      y = load<f32>(gamma + at) * y + load<f32>(beta + at);
    }
    if (y >= 0) {
      const wa = dst + (<usize>(o >>> 5) << 2);
      store<u32>(wa, load<u32>(wa) | (<u32>1 << (o & 31)));
    }
  }
}

export function fusedFloatConvPack(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32,
  x: usize, outC: i32, wT: usize, bias: usize, padValue: f32,
  poolH: i32, poolW: i32, poolStrideH: i32, poolStrideW: i32, poolPadTop: i32, poolPadLeft: i32,
  poolOutH: i32, poolOutW: i32,
  mean: usize, invStd: usize, gamma: usize, beta: usize,
  out: usize, scratch: usize,
): void {
  const k = kh * kw * c;
  const rowLen = kw * c;
  const patchBytes = <usize>rowLen << 2;
  // Two patch buffers (a pixel pair may both touch the padding), then best, 16-aligned.
  const patchA = scratch;
  const patchB = patchA + (<usize>(k + 4) << 2);
  const best = (patchB + (<usize>(k + 4) << 2) + 15) & ~(<usize>15);
  const words = (outC + 31) >>> 5;
  const pixelBytes = <usize>c << 2;
  const imageRow = <usize>w * pixelBytes;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * h * w * pixelBytes;
    for (let py = 0; py < poolOutH; py++) {
      for (let px = 0; px < poolOutW; px++) {
        let first = true;
        for (let ty = 0; ty < poolH; ty++) {
          const cy = py * poolStrideH - poolPadTop + ty;
          if (cy < 0 || cy >= outH) continue;
          // The in-bounds conv pixels of this pool row, two at a time where SIMD allows.
          let pending: usize = 0;
          let pendingRow: usize = 0;
          for (let tx = 0; tx < poolW; tx++) {
            const cx = px * poolStrideW - poolPadLeft + tx;
            if (cx < 0 || cx >= outW) continue;
            const iy0 = cy * strideH - padTop;
            const ix0 = cx * strideW - padLeft;
            // A window inside the image is read in place, else copied with its padding.
            const inside = inImage(h, w, kh, kw, iy0, ix0);
            const src = windowAt(image, h, w, c, kh, kw, iy0, ix0, padValue, imageRow, inside, pending ? patchB : patchA);
            const rowBytes = inside ? imageRow : patchBytes;
            if (!ASC_FEATURE_SIMD) {
              convPixelMax(src, rowBytes, rowLen, kh, wT, outC, bias, first, best);
              first = false;
            } else if (pending) {
              convPixelMax2(pending, pendingRow, src, rowBytes, rowLen, kh, wT, outC, bias, first, best, false, best);
              first = false;
              pending = 0;
            } else {
              pending = src;
              pendingRow = rowBytes;
            }
          }
          if (pending) {
            convPixelMax(pending, pendingRow, rowLen, kh, wT, outC, bias, first, best);
            first = false;
          }
        }
        const dst = out + ((((<usize>b * poolOutH + py) * poolOutW + px) * words) << 2);
        bnPack(best, outC, mean, invStd, gamma, beta, dst);
      }
    }
  }
}

/** The im2col row of the window at (iy0, ix0), taps outside the image = padValue. */
function fillPatch(
  image: usize, h: i32, w: i32, c: i32, kh: i32, kw: i32, iy0: i32, ix0: i32, padValue: f32, patch: usize,
): void {
  const pixelBytes = <usize>c << 2;
  let q: usize = patch;
  for (let ky = 0; ky < kh; ky++) {
    const iy = iy0 + ky;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
        for (let ci = 0; ci < c; ci++) store<f32>(q + (<usize>ci << 2), padValue);
      } else {
        const src = image + (<usize>iy * w + ix) * pixelBytes;
        for (let ci = 0; ci < c; ci++) store<f32>(q + (<usize>ci << 2), load<f32>(src + (<usize>ci << 2)));
      }
      q += pixelBytes;
    }
  }
}

/**
 * The float convolution alone, for inference: out [n, outH, outW, outC] float32 =
 * conv(x) + bias, output rows rowStart .. rowEnd of every image (a thread's share), each
 * value summed as fusedFloatConvPack sums it (p = 0..K-1 in order from 0, the sgemm
 * micro-kernel's order for K <= 384, then + bias): bit for bit what im2col + sgemm + bias
 * give, without the im2col matrix or the packing. Pixels run in pairs along a row, their
 * windows read in place inside the image and copied (padding filled in) at its border.
 * scratch: two patches of K + 4 floats.
 */
export function floatConvRows(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, strideH: i32, strideW: i32,
  padTop: i32, padLeft: i32, outH: i32, outW: i32,
  x: usize, outC: i32, wT: usize, bias: usize, padValue: f32, out: usize, scratch: usize,
  rowStart: i32, rowEnd: i32,
): void {
  const k = kh * kw * c;
  const rowLen = kw * c;
  const patchBytes = <usize>rowLen << 2;
  const patchA = scratch;
  const patchB = patchA + (<usize>(k + 4) << 2);
  const pixelBytes = <usize>c << 2;
  const imageRow = <usize>w * pixelBytes;
  const outPixel = <usize>outC << 2;
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * h * w * pixelBytes;
    for (let cy = rowStart; cy < rowEnd; cy++) {
      const iy0 = cy * strideH - padTop;
      const rowOut = out + (<usize>b * outH + cy) * outW * outPixel;
      let cx = 0;
      for (; ASC_FEATURE_SIMD && cx + 2 <= outW; cx += 2) {
        const ixA = cx * strideW - padLeft;
        const ixB = ixA + strideW;
        const inA = inImage(h, w, kh, kw, iy0, ixA);
        const inB = inImage(h, w, kh, kw, iy0, ixB);
        const srcA = windowAt(image, h, w, c, kh, kw, iy0, ixA, padValue, imageRow, inA, patchA);
        const srcB = windowAt(image, h, w, c, kh, kw, iy0, ixB, padValue, imageRow, inB, patchB);
        const dst = rowOut + <usize>cx * outPixel;
        convPixelMax2(srcA, inA ? imageRow : patchBytes, srcB, inB ? imageRow : patchBytes, rowLen, kh,
          wT, outC, bias, true, dst, true, dst + outPixel);
      }
      for (; cx < outW; cx++) {
        const ix0 = cx * strideW - padLeft;
        const inside = inImage(h, w, kh, kw, iy0, ix0);
        const src = windowAt(image, h, w, c, kh, kw, iy0, ix0, padValue, imageRow, inside, patchA);
        convPixelMax(src, inside ? imageRow : patchBytes, rowLen, kh, wT, outC, bias, true, rowOut + <usize>cx * outPixel);
      }
    }
  }
}

/** True when the kh x kw window at (iy0, ix0) lies inside the h x w image. */
@inline function inImage(h: i32, w: i32, kh: i32, kw: i32, iy0: i32, ix0: i32): bool {
  return iy0 >= 0 && iy0 + kh <= h && ix0 >= 0 && ix0 + kw <= w;
}

/** The window at (iy0, ix0): the image itself when `inside`, else a copy in `patch` with the padding filled in. */
@inline function windowAt(
  image: usize, h: i32, w: i32, c: i32, kh: i32, kw: i32, iy0: i32, ix0: i32, padValue: f32,
  imageRow: usize, inside: bool, patch: usize,
): usize {
  if (inside) return image + <usize>iy0 * imageRow + <usize>ix0 * (<usize>c << 2);
  fillPatch(image, h, w, c, kh, kw, iy0, ix0, padValue, patch);
  return patch;
}
