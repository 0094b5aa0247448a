/**
 * Independent float64 reference implementations of the ops' forward passes, in plain JS
 * numbers with direct index loops (no kernels, no shared code with src/ops). The gradient
 * tests differentiate these numerically.
 */
export interface Arr {
  data: number[];
  shape: number[];
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function map(x: Arr, fn: (v: number) => number): Arr {
  return { data: x.data.map(fn), shape: [...x.shape] };
}

/** NumPy broadcasting by unravel / ravel of each output index. */
export function broadcast(a: Arr, b: Arr, fn: (x: number, y: number) => number): Arr {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const as = pad(a.shape);
  const bs = pad(b.shape);
  const shape = as.map((d, i) => Math.max(d, bs[i]!));
  const data: number[] = [];
  for (let o = 0; o < size(shape); o++) {
    let rem = o;
    const idx = new Array<number>(rank);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
    }
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia = ia * as[d]! + (as[d] === 1 ? 0 : idx[d]!);
      ib = ib * bs[d]! + (bs[d] === 1 ? 0 : idx[d]!);
    }
    data.push(fn(a.data[ia]!, b.data[ib]!));
  }
  return { data, shape };
}

export function matmul(a: Arr, b: Arr, transA = false, transB = false): Arr {
  const at = (i: number, p: number) => (transA ? a.data[p * a.shape[1]! + i]! : a.data[i * a.shape[1]! + p]!);
  const bt = (p: number, j: number) => (transB ? b.data[j * b.shape[1]! + p]! : b.data[p * b.shape[1]! + j]!);
  const m = transA ? a.shape[1]! : a.shape[0]!;
  const k = transA ? a.shape[0]! : a.shape[1]!;
  const n = transB ? b.shape[0]! : b.shape[1]!;
  const data: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
      data.push(s);
    }
  }
  return { data, shape: [m, n] };
}

export function sumAll(x: Arr): Arr {
  return { data: [x.data.reduce((s, v) => s + v, 0)], shape: [] };
}

export function sumAxis(x: Arr, axis: number): Arr {
  const outer = size(x.shape.slice(0, axis));
  const len = x.shape[axis]!;
  const inner = size(x.shape.slice(axis + 1));
  const data = new Array<number>(outer * inner).fill(0);
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < len; a++) {
      for (let i = 0; i < inner; i++) data[o * inner + i]! += x.data[(o * len + a) * inner + i]!;
    }
  }
  return { data, shape: x.shape.filter((_, i) => i !== axis) };
}

export function permute(x: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => x.shape[p]!);
  const strides = x.shape.map((_, i) => size(x.shape.slice(i + 1)));
  const data: number[] = [];
  for (let o = 0; o < size(shape); o++) {
    let rem = o;
    let src = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      src += (rem % shape[d]!) * strides[perm[d]!]!;
      rem = Math.floor(rem / shape[d]!);
    }
    data.push(x.data[src]!);
  }
  return { data, shape };
}

/** TensorFlow's padding rule for one axis. */
export function padAxis(
  size: number,
  k: number,
  stride: number,
  padding: "valid" | "same",
): [number, number] {
  if (padding === "valid") return [Math.floor((size - k) / stride) + 1, 0];
  const out = Math.ceil(size / stride);
  return [out, Math.floor(Math.max((out - 1) * stride + k - size, 0) / 2)];
}

export function conv2d(
  x: Arr,
  w: Arr,
  bias: Arr | null,
  stride: number,
  padding: "valid" | "same",
  padValue: number,
): Arr {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [o, kh, kw] = w.shape as [number, number, number, number];
  const [oh, pt] = padAxis(h, kh, stride, padding);
  const [ow, pl] = padAxis(wd, kw, stride, padding);
  const data: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let f = 0; f < o; f++) {
          let s = bias ? bias.data[f]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = y * stride - pt + ky;
              const ix = xx * stride - pl + kx;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
              for (let ci = 0; ci < c; ci++) {
                const v = inside ? x.data[((b * h + iy) * wd + ix) * c + ci]! : padValue;
                s += v * w.data[((f * kh + ky) * kw + kx) * c + ci]!;
              }
            }
          }
          data.push(s);
        }
      }
    }
  }
  return { data, shape: [n, oh, ow, o] };
}

export function pool2d(
  x: Arr,
  k: number,
  stride: number,
  padding: "valid" | "same",
  kind: "max" | "avg",
): Arr {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [oh, pt] = padAxis(h, k, stride, padding);
  const [ow, pl] = padAxis(wd, k, stride, padding);
  const data: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let ci = 0; ci < c; ci++) {
          const vals: number[] = [];
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = y * stride - pt + ky;
              const ix = xx * stride - pl + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                vals.push(x.data[((b * h + iy) * wd + ix) * c + ci]!);
            }
          }
          data.push(kind === "max" ? Math.max(...vals) : vals.reduce((s, v) => s + v, 0) / vals.length);
        }
      }
    }
  }
  return { data, shape: [n, oh, ow, c] };
}

/** Batch norm with batch statistics (biased variance) over all axes but the last. */
export function batchNormTrain(x: Arr, gamma: Arr | null, beta: Arr | null, eps: number): Arr {
  const c = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / c;
  const mean = new Array<number>(c).fill(0);
  const vars = new Array<number>(c).fill(0);
  for (let r = 0; r < rows; r++) for (let j = 0; j < c; j++) mean[j]! += x.data[r * c + j]! / rows;
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < c; j++) vars[j]! += (x.data[r * c + j]! - mean[j]!) ** 2 / rows;
  const data = x.data.map((v, i) => {
    const j = i % c;
    const xhat = (v - mean[j]!) / Math.sqrt(vars[j]! + eps);
    return (gamma ? gamma.data[j]! : 1) * xhat + (beta ? beta.data[j]! : 0);
  });
  return { data, shape: [...x.shape] };
}

/** mean_r (log sum_j exp(z_rj) - z_r,label_r). */
export function softmaxCrossEntropy(z: Arr, labels: readonly number[]): Arr {
  const [rows, cols] = z.shape as [number, number];
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = z.data.slice(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - row[labels[r]!]!;
  }
  return { data: [total / rows], shape: [] };
}

/** T^2 * mean_r -sum_c softmax(t_r / T)_c * log softmax(s_r / T)_c, by the textbook formulas. */
export function distillation(s: Arr, t: Arr, temperature: number): Arr {
  const [rows, cols] = s.shape as [number, number];
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const zs = s.data.slice(r * cols, (r + 1) * cols).map((v) => v / temperature);
    const zt = t.data.slice(r * cols, (r + 1) * cols).map((v) => v / temperature);
    const sumT = zt.reduce((acc, v) => acc + Math.exp(v), 0);
    const sumS = zs.reduce((acc, v) => acc + Math.exp(v), 0);
    for (let c = 0; c < cols; c++) total -= (Math.exp(zt[c]!) / sumT) * Math.log(Math.exp(zs[c]!) / sumS);
  }
  return { data: [(temperature * temperature * total) / rows], shape: [] };
}

/** mean of max(0, 1 - t*y)^2. */
export function squaredHinge(y: Arr, t: Arr): Arr {
  const s = y.data.reduce((acc, v, i) => acc + Math.max(0, 1 - t.data[i]! * v) ** 2, 0);
  return { data: [s / y.data.length], shape: [] };
}

/** Concatenation along `axis`, element by element through the output's multi-index. */
export function concat(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  const data: number[] = [];
  for (let o = 0; o < size(shape); o++) {
    let rem = o;
    const idx = new Array<number>(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
    }
    let at = idx[axis]!;
    const x = xs.find((t) => {
      if (at < t.shape[axis]!) return true;
      at -= t.shape[axis]!;
      return false;
    })!;
    idx[axis] = at;
    data.push(x.data[idx.reduce((flat, v, d) => flat * x.shape[d]! + v, 0)]!);
  }
  return { data, shape };
}

/** PReLU with one slope per channel of the last axis. */
export function prelu(x: Arr, alpha: Arr): Arr {
  const c = x.shape[x.shape.length - 1]!;
  return { data: x.data.map((v, i) => (v >= 0 ? v : alpha.data[i % c]! * v)), shape: [...x.shape] };
}

/** [N, H, W, C] -> [N, C], mean over H and W. */
export function globalAvgPool2d(x: Arr): Arr {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const data: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < c; ci++) {
      let s = 0;
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < wd; xx++) s += x.data[((b * h + y) * wd + xx) * c + ci]!;
      data.push(s / (h * wd));
    }
  }
  return { data, shape: [n, c] };
}

/** Depthwise convolution, weights [kh, kw, C], padding reading 0. */
export function depthwiseConv2d(
  x: Arr,
  w: Arr,
  strideH: number,
  strideW: number,
  padding: "valid" | "same",
): Arr {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [kh, kw] = w.shape as [number, number, number];
  const [oh, pt] = padAxis(h, kh, strideH, padding);
  const [ow, pl] = padAxis(wd, kw, strideW, padding);
  const data: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        for (let ci = 0; ci < c; ci++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = y * strideH - pt + ky;
              const ix = xx * strideW - pl + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                s += x.data[((b * h + iy) * wd + ix) * c + ci]! * w.data[(ky * kw + kx) * c + ci]!;
            }
          }
          data.push(s);
        }
      }
    }
  }
  return { data, shape: [n, oh, ow, c] };
}
