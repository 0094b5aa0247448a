/** Reference fused layer kernels: batch norm, softmax cross-entropy, Adam. */
import type { Heap } from "../heap.js";

const f = Math.fround;

/** xhat = (x - mean) * invStd, y = gamma * xhat + beta, per column, in float32 steps. */
export function refBatchNormForward(
  heap: Heap,
  rows: number,
  cols: number,
  x: number,
  mean: number,
  invStd: number,
  gamma: number,
  beta: number,
  y: number,
  xhat: number,
): void {
  const X = heap.f32At(x, rows * cols);
  const [MU, IS, G, B] = [mean, invStd, gamma, beta].map((p) => heap.f32At(p, cols)) as Float32Array[];
  const Y = heap.f32At(y, rows * cols);
  const XH = xhat === 0 ? null : heap.f32At(xhat, rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      const h = f(f(X[i]! - MU![j]!) * IS![j]!);
      if (XH) XH[i] = h;
      Y[i] = f(f(G![j]! * h) + B![j]!);
    }
  }
}

/**
 * dgamma += sum_r dy*xhat, dbeta += sum_r dy,
 * dx = gamma*invStd/rows * (rows*dy - sum_r dy - xhat * sum_r dy*xhat).
 */
export function refBatchNormBackward(
  heap: Heap,
  rows: number,
  cols: number,
  dy: number,
  xhat: number,
  gamma: number,
  invStd: number,
  dx: number,
  dgamma: number,
  dbeta: number,
): void {
  const DY = heap.f32At(dy, rows * cols);
  const XH = heap.f32At(xhat, rows * cols);
  const DX = heap.f32At(dx, rows * cols);
  const G = heap.f32At(gamma, cols);
  const IS = heap.f32At(invStd, cols);
  const DG = heap.f32At(dgamma, cols);
  const DB = heap.f32At(dbeta, cols);
  for (let j = 0; j < cols; j++) {
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let r = 0; r < rows; r++) {
      sumDy += DY[r * cols + j]!;
      sumDyXhat += DY[r * cols + j]! * XH[r * cols + j]!;
    }
    DG[j]! += sumDyXhat;
    DB[j]! += sumDy;
    const scale = (G[j]! * IS[j]!) / rows;
    for (let r = 0; r < rows; r++) {
      const i = r * cols + j;
      DX[i] = scale * (rows * DY[i]! - sumDy - XH[i]! * sumDyXhat);
    }
  }
}

/**
 * loss = mean_r (logsumexp(z_r) - z_r[label_r]); dlogits = (softmax(z) - onehot) / rows.
 * Labels outside [0, cols) throw.
 */
export function refSoftmaxCrossEntropy(
  heap: Heap,
  rows: number,
  cols: number,
  logits: number,
  labels: number,
  dlogits: number,
): number {
  const Z = heap.f32At(logits, rows * cols);
  const L = heap.i32At(labels, rows);
  const D = dlogits === 0 ? null : heap.f32At(dlogits, rows * cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const label = L[r]!;
    if (!(label >= 0 && label < cols)) {
      throw new RangeError(`softmaxCrossEntropy: label ${label} of row ${r} is outside [0, ${cols})`);
    }
    const row = Z.subarray(r * cols, (r + 1) * cols);
    let max = Number.NEGATIVE_INFINITY;
    for (const z of row) max = Math.max(max, z);
    let sumExp = 0;
    for (const z of row) sumExp += Math.exp(z - max);
    total += Math.log(sumExp) + max - row[label]!;
    if (D) {
      for (let j = 0; j < cols; j++) {
        D[r * cols + j] = (Math.exp(row[j]! - max) / sumExp - (j === label ? 1 : 0)) / rows;
      }
    }
  }
  return total / rows;
}

/**
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); then clamp p to [-clip, clip] if clip > 0.
 */
export function refAdam(
  heap: Heap,
  n: number,
  p: number,
  g: number,
  m: number,
  v: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  step: number,
  clip: number,
): void {
  const [P, G, M, V] = [p, g, m, v].map((ptr) => heap.f32At(ptr, n)) as Float32Array[];
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    M![i] = beta1 * M![i]! + (1 - beta1) * G![i]!;
    V![i] = beta2 * V![i]! + (1 - beta2) * G![i]! ** 2;
    let next = P![i]! - (lr * (M![i]! / c1)) / (Math.sqrt(V![i]! / c2) + eps);
    if (clip > 0) next = Math.min(Math.max(next, -clip), clip);
    P![i] = next;
  }
}
