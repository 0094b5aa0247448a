// Fused layer kernels.
//   batchNormForward:  xhat = (x - mean) * invStd, y = gamma * xhat + beta (float32 steps).
//   batchNormBackward: per column, in float64 and row order (as ref):
//     sdy = sum_r dy, sdx = sum_r dy * xhat; dgamma += sdx, dbeta += sdy;
//     dx = gamma * invStd / rows * (rows * dy - sdy - xhat * sdx).
//     `acc` is caller scratch of 3 * cols float64 (the sums and the per-column scale).
//     Rows are ld floats apart: a block of columns is a pointer offset (threads split
//     the columns; each column's sums are the same whatever the split).
//   softmaxCrossEntropy: loss = mean_r (log sum_j exp(z_rj - max_r) + max_r - z_r,label),
//     dlogits = (softmax - onehot) / rows (skipped when dlogits = 0). float64 math.
//   adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
//     p -= lrT * m / (sqrt(v * invC2) + eps), then clamp to [-clip, clip] when clip > 0;
//     lrT = lr / (1 - b1^t) and invC2 = 1 / (1 - b2^t) come from the caller.

export function float_batchNormForward(
  rows: i32, cols: i32, x: usize, mean: usize, invStd: usize, gamma: usize, beta: usize, y: usize, xhat: usize,
): void {
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * cols * 4;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j * 4;
        const h = f32x4.mul(f32x4.sub(v128.load(x + base + o), v128.load(mean + o)), v128.load(invStd + o));
        if (xhat) v128.store(xhat + base + o, h);
        v128.store(y + base + o, f32x4.add(f32x4.mul(v128.load(gamma + o), h), v128.load(beta + o)));
      }
    }
    for (; j < cols; j++) {
      const o = <usize>j * 4;
      const h = (load<f32>(x + base + o) - load<f32>(mean + o)) * load<f32>(invStd + o);
      if (xhat) store<f32>(xhat + base + o, h);
      store<f32>(y + base + o, load<f32>(gamma + o) * h + load<f32>(beta + o));
    }
  }
}

export function float_batchNormBackward(
  rows: i32, cols: i32, ld: i32, dy: usize, xhat: usize, gamma: usize, invStd: usize,
  dx: usize, dgamma: usize, dbeta: usize, acc: usize,
): void {
  const sdy = acc;
  const sdx = acc + <usize>cols * 8;
  const scale = acc + <usize>cols * 16;
  const n = <f64>rows;
  memory.fill(acc, 0, <usize>cols * 16);
  // Pass 1: column sums in float64, rows in order (SIMD lanes are columns: same order).
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * ld * 4;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= cols; j += 4) {
        const g = v128.load(dy + base + <usize>j * 4);
        const h = v128.load(xhat + base + <usize>j * 4);
        const g0 = f64x2.promote_low_f32x4(g);
        const g1 = f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 0, 1));
        const h0 = f64x2.promote_low_f32x4(h);
        const h1 = f64x2.promote_low_f32x4(i32x4.shuffle(h, h, 2, 3, 0, 1));
        const a = sdy + <usize>j * 8;
        const b = sdx + <usize>j * 8;
        v128.store(a, f64x2.add(v128.load(a), g0));
        v128.store(a, f64x2.add(v128.load(a, 16), g1), 16);
        v128.store(b, f64x2.add(v128.load(b), f64x2.mul(g0, h0)));
        v128.store(b, f64x2.add(v128.load(b, 16), f64x2.mul(g1, h1)), 16);
      }
    }
    for (; j < cols; j++) {
      const g = <f64>load<f32>(dy + base + <usize>j * 4);
      const h = <f64>load<f32>(xhat + base + <usize>j * 4);
      store<f64>(sdy + <usize>j * 8, load<f64>(sdy + <usize>j * 8) + g);
      store<f64>(sdx + <usize>j * 8, load<f64>(sdx + <usize>j * 8) + g * h);
    }
  }
  for (let j = 0; j < cols; j++) {
    const o = <usize>j * 4;
    store<f32>(dgamma + o, <f32>(<f64>load<f32>(dgamma + o) + load<f64>(sdx + <usize>j * 8)));
    store<f32>(dbeta + o, <f32>(<f64>load<f32>(dbeta + o) + load<f64>(sdy + <usize>j * 8)));
    store<f64>(scale + <usize>j * 8, (<f64>load<f32>(gamma + o) * <f64>load<f32>(invStd + o)) / n);
  }
  // Pass 2: dx = scale * (n*dy - sdy - xhat*sdx), float64 then rounded once.
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * ld * 4;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const nv = f64x2.splat(n);
      for (; j + 4 <= cols; j += 4) {
        const g = v128.load(dy + base + <usize>j * 4);
        const h = v128.load(xhat + base + <usize>j * 4);
        const o = <usize>j * 8;
        const lo = f64x2.mul(v128.load(scale + o), f64x2.sub(
          f64x2.sub(f64x2.mul(nv, f64x2.promote_low_f32x4(g)), v128.load(sdy + o)),
          f64x2.mul(f64x2.promote_low_f32x4(h), v128.load(sdx + o))));
        const g1 = i32x4.shuffle(g, g, 2, 3, 0, 1);
        const h1 = i32x4.shuffle(h, h, 2, 3, 0, 1);
        const hi = f64x2.mul(v128.load(scale + o, 16), f64x2.sub(
          f64x2.sub(f64x2.mul(nv, f64x2.promote_low_f32x4(g1)), v128.load(sdy + o, 16)),
          f64x2.mul(f64x2.promote_low_f32x4(h1), v128.load(sdx + o, 16))));
        const out = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
        v128.store(dx + base + <usize>j * 4, out);
      }
    }
    for (; j < cols; j++) {
      const o = <usize>j * 4;
      const g = <f64>load<f32>(dy + base + o);
      const h = <f64>load<f32>(xhat + base + o);
      const v = load<f64>(scale + <usize>j * 8) * (n * g - load<f64>(sdy + <usize>j * 8) - h * load<f64>(sdx + <usize>j * 8));
      store<f32>(dx + base + o, <f32>v);
    }
  }
}

export function float_softmaxCrossEntropy(rows: i32, cols: i32, logits: usize, labels: usize, dlogits: usize): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits + <usize>r * cols * 4;
    let m: f64 = -Infinity;
    for (let j = 0; j < cols; j++) m = max(m, <f64>load<f32>(row + <usize>j * 4));
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(<f64>load<f32>(row + <usize>j * 4) - m);
    const label = load<i32>(labels + <usize>r * 4);
    total += Math.log(s) + m - <f64>load<f32>(row + <usize>label * 4);
    if (dlogits) {
      const out = dlogits + <usize>r * cols * 4;
      for (let j = 0; j < cols; j++) {
        const p = Math.exp(<f64>load<f32>(row + <usize>j * 4) - m) / s;
        store<f32>(out + <usize>j * 4, <f32>((p - (j == label ? 1.0 : 0.0)) / <f64>rows));
      }
    }
  }
  return total / <f64>rows;
}

export function float_adam(
  n: i32, p: usize, g: usize, m: usize, v: usize,
  lrT: f32, beta1: f32, beta2: f32, eps: f32, invC2: f32, clip: f32,
): void {
  const lim: f32 = clip > 0 ? clip : Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
    const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
    const lr = f32x4.splat(lrT), e = f32x4.splat(eps), ic2 = f32x4.splat(invC2);
    const hi = f32x4.splat(lim), lo = f32x4.splat(-lim);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i * 4;
      const gv = v128.load(g + o);
      const mv = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, gv));
      const vv = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(gv, gv)));
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      const step = f32x4.div(f32x4.mul(lr, mv), f32x4.add(f32x4.sqrt(f32x4.mul(vv, ic2)), e));
      v128.store(p + o, f32x4.min(f32x4.max(f32x4.sub(v128.load(p + o), step), lo), hi));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * gi;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const next = load<f32>(p + o) - (lrT * mi) / (sqrt(vi * invC2) + eps);
    store<f32>(p + o, min(max(next, -lim), lim));
  }
}
