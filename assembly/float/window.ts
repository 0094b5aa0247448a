// Window kernels over NHWC images: im2col, col2im, max and average pooling.
//
// Output pixel (b, oy, ox) and tap (ky, kx) read input (b, iy, ix) with
//   iy = oy * strideH - padTop + ky,  ix = ox * strideW - padLeft + kx.
// For a fixed (oy, ox, ky) the in-bounds taps kx0 <= kx < kx1 are consecutive input
// pixels, hence one contiguous run of (kx1 - kx0) * c floats: im2col copies it, col2im
// adds it back, pooling folds it channel-wise.
//   im2col: cols[pixel, (ky*kw + kx)*c + ci] = x[b, iy, ix, ci] or padValue.
//   col2im: dx[b, iy, ix, ci] += cols[pixel, (ky*kw + kx)*c + ci] (the adjoint).
//   maxPool: y = max over in-bounds taps, argmax = flat x index of the first maximum.
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
  let dst = cols;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = min(tapStart(ox, sw, pl), kw);
        const kx1 = max(kx0, tapEnd(ox, sw, pl, w, kw));
        const ix0 = ox * sw - pl + kx0;
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

/** Folds input pixel `src` (flat element index `index`) into the running max at y/arg. */
@inline function maxStep(y: usize, arg: usize, src: usize, index: i32, c: i32): void {
  let ci = 0;
  if (ASC_FEATURE_SIMD) {
    const lane = i32x4(0, 1, 2, 3);
    for (; ci + 4 <= c; ci += 4) {
      const o = <usize>ci * 4;
      const v = v128.load(src + o);
      const cur = v128.load(y + o);
      const gt = f32x4.gt(v, cur);
      v128.store(y + o, v128.bitselect(v, cur, gt));
      const idx = i32x4.add(i32x4.splat(index + ci), lane);
      v128.store(arg + o, v128.bitselect(idx, v128.load(arg + o), gt));
    }
  }
  for (; ci < c; ci++) {
    const o = <usize>ci * 4;
    const v = load<f32>(src + o);
    if (v > load<f32>(y + o)) {
      store<f32>(y + o, v);
      store<i32>(arg + o, index + ci);
    }
  }
}

export function float_maxPool(
  n: i32, h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  x: usize, y: usize, argmax: usize,
): void {
  let out = y;
  let arg = argmax;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const ky0 = tapStart(oy, sh, pt);
      const ky1 = tapEnd(oy, sh, pt, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const kx0 = tapStart(ox, sw, pl);
        const kx1 = tapEnd(ox, sw, pl, w, kw);
        let first = true;
        for (let ky = ky0; ky < ky1; ky++) {
          const iy = oy * sh - pt + ky;
          for (let kx = kx0; kx < kx1; kx++) {
            const pixel = (b * h + iy) * w + (ox * sw - pl + kx);
            const src = x + (<usize>pixel * c) * 4;
            if (first) {
              // The first in-bounds tap initializes the window (so NaN stays, as in ref).
              copyF32(out, src, c);
              for (let ci = 0; ci < c; ci++) store<i32>(arg + <usize>ci * 4, pixel * c + ci);
              first = false;
            } else {
              maxStep(out, arg, src, pixel * c, c);
            }
          }
        }
        out += <usize>c * 4;
        arg += <usize>c * 4;
      }
    }
  }
}

export function float_maxPoolBackward(count: i32, dy: usize, argmax: usize, dx: usize): void {
  for (let i = 0; i < count; i++) {
    const p = dx + (<usize>load<i32>(argmax + <usize>i * 4)) * 4;
    store<f32>(p, load<f32>(p) + load<f32>(dy + <usize>i * 4));
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
