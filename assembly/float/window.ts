// Window kernels over NHWC images: im2col, col2im, max and average pooling.
//
// Output pixel (b, oy, ox) and tap (ky, kx) read input (b, iy, ix) with
//   iy = oy * strideH - padTop + ky,  ix = ox * strideW - padLeft + kx.
// For a fixed (oy, ox, ky) the in-bounds taps kx0 <= kx < kx1 are consecutive input
// pixels, hence one contiguous run of (kx1 - kx0) * c floats: im2col copies it, col2im
// adds it back, pooling folds it channel-wise.
//   im2col: cols[pixel, (ky*kw + kx)*c + ci] = x[b, iy, ix, ci] or padValue.
//   col2im: dx[b, iy, ix, ci] += cols[pixel, (ky*kw + kx)*c + ci] (the adjoint).
//   maxPool: y = max over in-bounds taps, argmax = flat x index of the first maximum
//     (argmax 0: the values alone, for inference).
//   maxPoolBackward: dx[argmax] += dy (a gather in input order when windows do not overlap).
//   avgPool: y = sum over in-bounds taps / their count; backward spreads dy / count.
import { addIntoF32, copyF32, fillF32 } from "./vec";

/** First in-bounds tap: max(0, padLeft - ox*stride) etc. */
@inline function tapStart(o: i32, stride: i32, pad: i32): i32 {
  return max(0, pad - o * stride);
}

/** One past the last in-bounds tap. */
@inline function tapEnd(o: i32, stride: i32, pad: i32, size: i32, k: i32): i32 {
  return min(k, size + pad - o * stride);
}

export function float_im2col(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, padValue: f32, cols: usize,
): void {
  const rowLen = kh * kw * c;
  const run = kw * c;
  const rowStride = <usize>(w * c) << 2;
  let dst = cols;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = min(tapStart(ox, sw, pl), kw);
        const kx1 = max(kx0, tapEnd(ox, sw, pl, w, kw));
        const ix0 = ox * sw - pl + kx0;
        if (run <= 4 && ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw) {
          // A window inside the image with short rows (a first layer: 3 taps of 1
          // channel): plain copies, without the general path's per-row fills.
          let src = x + (<usize>((b * h + oy * sh - pt) * w + ix0) * c) * 4;
          let out = dst;
          for (let ky = 0; ky < kh; ky++) {
            for (let i = 0; i < run; i++) store<f32>(out + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
            out += <usize>run << 2;
            src += rowStride;
          }
          dst += <usize>rowLen * 4;
          continue;
        }
        for (let ky = 0; ky < kh; ky++) {
          const out = dst + <usize>(ky * kw * c) * 4;
          if (ky < ky0 || ky >= ky1) {
            fillF32(out, padValue, kw * c);
            continue;
          }
          const iy = oy * sh - pt + ky;
          const src = x + (<usize>((b * h + iy) * w + ix0) * c) * 4;
          fillF32(out, padValue, kx0 * c);
          copyF32(out + <usize>(kx0 * c) * 4, src, (kx1 - kx0) * c);
          fillF32(out + <usize>(kx1 * c) * 4, padValue, (kw - kx1) * c);
        }
        dst += <usize>rowLen * 4;
      }
    }
  }
}

export function float_col2im(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  cols: usize, dx: usize,
): void {
  const rowLen = kh * kw * c;
  let src = cols;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = min(tapStart(ox, sw, pl), kw);
        const kx1 = max(kx0, tapEnd(ox, sw, pl, w, kw));
        const ix0 = ox * sw - pl + kx0;
        for (let ky = ky0; ky < ky1; ky++) {
          const iy = oy * sh - pt + ky;
          const out = dx + (<usize>((b * h + iy) * w + ix0) * c) * 4;
          addIntoF32(out, src + <usize>((ky * kw + kx0) * c) * 4, (kx1 - kx0) * c);
        }
        src += <usize>rowLen * 4;
      }
    }
  }
}

/**
 * Max pooling. argmax receives base + the flat index into x of each chosen element (base
 * lets a call over a block of images write indices into the whole batch). The running max
 * and its index stay in registers across the window's taps, four channels at a time (a
 * full 2x2 window, the common case, unrolled); the first in-bounds tap initializes them,
 * and comparing it with itself changes nothing, so NaN in the first tap stays, as in the
 * reference.
 */
/** maxPool's values alone (argmax = 0, inference): the same first maximum of each window. */
function maxPoolValues(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, y: usize,
): void {
  let out = y;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapStart(ox, sw, pl);
        const kx1 = tapEnd(ox, sw, pl, w, kw);
        const first = x + (<usize>(((b * h + oy * sh - pt + ky0) * w + (ox * sw - pl + kx0)) * c) << 2);
        const rowBytes = <usize>(w * c) << 2;
        const tapBytes = <usize>c << 2;
        let ci = 0;
        if (ASC_FEATURE_SIMD) {
          for (; ci + 4 <= c; ci += 4) {
            const at = first + (<usize>ci << 2);
            let m = v128.load(at);
            let row = at;
            for (let ky = ky0; ky < ky1; ky++) {
              let p = row;
              for (let kx = kx0; kx < kx1; kx++) {
                const v = v128.load(p);
                m = v128.bitselect(v, m, f32x4.gt(v, m));
                p += tapBytes;
              }
              row += rowBytes;
            }
            v128.store(out + (<usize>ci << 2), m);
          }
        }
        for (; ci < c; ci++) {
          const at = first + (<usize>ci << 2);
          let m = load<f32>(at);
          let row = at;
          for (let ky = ky0; ky < ky1; ky++) {
            let p = row;
            for (let kx = kx0; kx < kx1; kx++) {
              const v = load<f32>(p);
              if (v > m) m = v;
              p += tapBytes;
            }
            row += rowBytes;
          }
          store<f32>(out + (<usize>ci << 2), m);
        }
        out += <usize>c * 4;
      }
    }
  }
}

export function float_maxPool(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, base: i32, y: usize, argmax: usize,
): void {
  if (argmax == 0) {
    maxPoolValues(n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow, x, y);
    return;
  }
  let out = y;
  let arg = argmax;
  const rowStride = w * c;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapStart(ox, sw, pl);
        const kx1 = tapEnd(ox, sw, pl, w, kw);
        const first = ((b * h + oy * sh - pt + ky0) * w + (ox * sw - pl + kx0)) * c;
        let ci = 0;
        if (ASC_FEATURE_SIMD) {
          const lane = i32x4(0, 1, 2, 3);
          if (ky1 - ky0 == 2 && kx1 - kx0 == 2) {
            for (; ci + 4 <= c; ci += 4) {
              const i0 = first + ci;
              const i1 = i0 + c;
              const i2 = i0 + rowStride;
              const i3 = i2 + c;
              let m = v128.load(x + (<usize>i0 << 2));
              let a = i32x4.add(i32x4.splat(base + i0), lane);
              let v = v128.load(x + (<usize>i1 << 2));
              let gt = f32x4.gt(v, m);
              m = v128.bitselect(v, m, gt);
              a = v128.bitselect(i32x4.add(i32x4.splat(base + i1), lane), a, gt);
              v = v128.load(x + (<usize>i2 << 2));
              gt = f32x4.gt(v, m);
              m = v128.bitselect(v, m, gt);
              a = v128.bitselect(i32x4.add(i32x4.splat(base + i2), lane), a, gt);
              v = v128.load(x + (<usize>i3 << 2));
              gt = f32x4.gt(v, m);
              v128.store(out + (<usize>ci << 2), v128.bitselect(v, m, gt));
              v128.store(arg + (<usize>ci << 2), v128.bitselect(i32x4.add(i32x4.splat(base + i3), lane), a, gt));
            }
          } else {
            for (; ci + 4 <= c; ci += 4) {
              let m = v128.load(x + (<usize>(first + ci) << 2));
              let a = i32x4.add(i32x4.splat(base + first + ci), lane);
              for (let ky = ky0; ky < ky1; ky++) {
                const row = ((b * h + oy * sh - pt + ky) * w + ox * sw - pl) * c + ci;
                for (let kx = kx0; kx < kx1; kx++) {
                  const index = row + kx * c;
                  const v = v128.load(x + (<usize>index << 2));
                  const gt = f32x4.gt(v, m);
                  m = v128.bitselect(v, m, gt);
                  a = v128.bitselect(i32x4.add(i32x4.splat(base + index), lane), a, gt);
                }
              }
              v128.store(out + (<usize>ci << 2), m);
              v128.store(arg + (<usize>ci << 2), a);
            }
          }
        }
        for (; ci < c; ci++) {
          let m = load<f32>(x + (<usize>(first + ci) << 2));
          let a = base + first + ci;
          for (let ky = ky0; ky < ky1; ky++) {
            const row = ((b * h + oy * sh - pt + ky) * w + ox * sw - pl) * c + ci;
            for (let kx = kx0; kx < kx1; kx++) {
              const index = row + kx * c;
              const v = load<f32>(x + (<usize>index << 2));
              if (v > m) {
                m = v;
                a = base + index;
              }
            }
          }
          store<f32>(out + (<usize>ci << 2), m);
          store<i32>(arg + (<usize>ci << 2), a);
        }
        out += <usize>c * 4;
        arg += <usize>c * 4;
      }
    }
  }
}

/**
 * The adjoint of maxPool: dx[argmax[i] - base] (+)= dy[i] (overwrite: dx starts at 0).
 * When the windows tile the image from its top-left corner (stride = window, no top/left
 * padding), every input element lies in at most one window, so each window writes its
 * taps once, selecting dy where the argmax points at the tap: no clearing pass and no
 * scattered adds (only the rows/columns no window covers are cleared). The selected value
 * is 0 + dy (overwrite) or dx + dy: the same float operations as the scatter.
 */
export function float_maxPoolBackward(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  dy: usize, argmax: usize, base: i32, dx: usize, overwrite: i32,
): void {
  if (sh != kh || sw != kw || pt != 0 || pl != 0) {
    if (overwrite) fillF32(dx, 0, n * h * w * c);
    const count = n * oh * ow * c;
    for (let i = 0; i < count; i++) {
      const p = dx + (<usize>(load<i32>(argmax + (<usize>i << 2)) - base) << 2);
      store<f32>(p, load<f32>(p) + load<f32>(dy + (<usize>i << 2)));
    }
    return;
  }
  const coveredH = min(h, oh * kh);
  const coveredW = min(w, ow * kw);
  for (let b = 0; b < n; b++) {
    const image = b * h * w;
    if (overwrite) {
      // Rows and columns beyond the last window ('valid' pooling of an odd size).
      for (let iy = 0; iy < coveredH; iy++) {
        fillF32(dx + (<usize>((image + iy * w + coveredW) * c) << 2), 0, (w - coveredW) * c);
      }
      fillF32(dx + (<usize>((image + coveredH * w) * c) << 2), 0, (h - coveredH) * w * c);
    }
    for (let oy = 0; oy < oh; oy++) {
      const ky1 = min(kh, h - oy * kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx1 = min(kw, w - ox * kw);
        const o = ((b * oh + oy) * ow + ox) * c;
        for (let ky = 0; ky < ky1; ky++) {
          for (let kx = 0; kx < kx1; kx++) {
            const index = (image + (oy * kh + ky) * w + ox * kw + kx) * c;
            let ci = 0;
            if (ASC_FEATURE_SIMD) {
              const lane = i32x4(0, 1, 2, 3);
              const zero = f32x4.splat(0);
              for (; ci + 4 <= c; ci += 4) {
                const at = <usize>(o + ci) << 2;
                const hit = i32x4.eq(v128.load(argmax + at), i32x4.add(i32x4.splat(base + index + ci), lane));
                const p = dx + (<usize>(index + ci) << 2);
                const old = overwrite ? zero : v128.load(p);
                v128.store(p, v128.bitselect(f32x4.add(old, v128.load(dy + at)), old, hit));
              }
            }
            for (; ci < c; ci++) {
              const at = <usize>(o + ci) << 2;
              const p = dx + (<usize>(index + ci) << 2);
              const old: f32 = overwrite ? 0 : load<f32>(p);
              store<f32>(p, load<i32>(argmax + at) == base + index + ci ? old + load<f32>(dy + at) : old);
            }
          }
        }
      }
    }
  }
}

export function float_avgPool(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, y: usize,
): void {
  let out = y;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapStart(ox, sw, pl);
        const kx1 = tapEnd(ox, sw, pl, w, kw);
        fillF32(out, 0, c);
        for (let ky = ky0; ky < ky1; ky++) {
          const iy = oy * sh - pt + ky;
          for (let kx = kx0; kx < kx1; kx++) {
            const pixel = (b * h + iy) * w + (ox * sw - pl + kx);
            addIntoF32(out, x + (<usize>pixel * c) * 4, c);
          }
        }
        const count = <f32>((ky1 - ky0) * (kx1 - kx0));
        for (let ci = 0; ci < c; ci++) {
          const p = out + <usize>ci * 4;
          store<f32>(p, load<f32>(p) / count);
        }
        out += <usize>c * 4;
      }
    }
  }
}

export function float_avgPoolBackward(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  dy: usize, dx: usize,
): void {
  let g = dy;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapStart(ox, sw, pl);
        const kx1 = tapEnd(ox, sw, pl, w, kw);
        const count = <f32>((ky1 - ky0) * (kx1 - kx0));
        for (let ky = ky0; ky < ky1; ky++) {
          const iy = oy * sh - pt + ky;
          for (let kx = kx0; kx < kx1; kx++) {
            const dst = dx + (<usize>(((b * h + iy) * w + (ox * sw - pl + kx)) * c)) * 4;
            for (let ci = 0; ci < c; ci++) {
              const p = dst + <usize>ci * 4;
              store<f32>(p, load<f32>(p) + load<f32>(g + <usize>ci * 4) / count);
            }
          }
        }
        g += <usize>c * 4;
      }
    }
  }
}
