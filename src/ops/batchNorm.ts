/**
 * Batch normalization over the last axis (channels): dense x [N, C] or conv x [N, H, W, C],
 * both viewed as rows x C.
 *
 * Training (Ioffe & Szegedy 2015), batch statistics over the rows:
 *   mean_j, var_j (biased), invStd_j = 1 / sqrt(var_j + eps), xhat = (x - mean) * invStd,
 *   y = gamma * xhat + beta,
 *   running = momentum * running + (1 - momentum) * batch statistic (Keras' rule and
 *   defaults: momentum 0.99, eps 1e-3; the running variance takes the biased variance).
 *   Backward: dx = gamma*invStd/rows * (rows*dy - sum dy - xhat * sum dy*xhat),
 *   dgamma = sum dy*xhat, dbeta = sum dy.
 * Evaluation: the running statistics, y = ((x - mean) * invStd) * gamma + beta, composed
 * from the elementwise ops (same float order as the fused kernel) so it differentiates too.
 *
 * gamma and beta are optional (Larq's BatchNormalization(scale=False) has no gamma).
 *
 *     const y = batchNorm(x, { gamma, beta, runningMean, runningVar, training: true });
 */
import type { Tensor } from "../tensor/tensor.js";
import { formatShape } from "../tensor/tensor.js";
import { add, mul, sub } from "./arith.js";
import { composite, contextOf } from "./grad.js";

/** The tensors and settings of the `batchNorm` op. */
export interface BatchNormOptions {
  gamma?: Tensor | null;
  beta?: Tensor | null;
  /** [C], updated in place in training mode. */
  runningMean: Tensor;
  /** [C], updated in place in training mode. */
  runningVar: Tensor;
  /** Batch statistics and running-average update (true) or running statistics (false). */
  training: boolean;
  /** Weight of the old running value. Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  eps?: number;
}

/** 1 / sqrt(var + eps), rounded once to float32 (the exporter folds with the same formula). */
export function invStdOf(variance: number, eps: number): number {
  return Math.fround(1 / Math.sqrt(variance + eps));
}

/**
 * Batch normalization over the last axis: batch statistics and a running-average update in
 * training, the running statistics otherwise.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions): Tensor {
  const {
    gamma = null,
    beta = null,
    runningMean,
    runningVar,
    training,
    momentum = 0.99,
    eps = 1e-3,
  } = options;
  const ctx = contextOf("batchNorm", x, gamma, beta, runningMean, runningVar);
  if (x.rank < 2) throw new Error(`batchNorm: needs x [N, C] or [N, H, W, C], got ${formatShape(x.shape)}`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [
    ["gamma", gamma],
    ["beta", beta],
    ["runningMean", runningMean],
    ["runningVar", runningVar],
  ] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) {
      throw new Error(
        `batchNorm: ${name} must be [${c}] for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
  if (!training) {
    return composite(ctx, [x, gamma, beta], () => {
      const invStd = ctx.fromArray(Array.from(runningVar.data, (v) => invStdOf(v, eps)));
      let y = mul(sub(x, runningMean), invStd);
      if (gamma) y = mul(y, gamma);
      if (beta) y = add(y, beta);
      return y;
    });
  }
  const rows = x.size / c;
  const f = ctx.float;
  const heap = ctx.heap;
  // Per-channel [C] scratch: mean, variance, invStd, and stand-ins for a missing gamma (1)
  // or beta (0). invStd and the gamma stand-in are kept for backward.
  const mean = heap.alloc(c * 4);
  const variance = heap.alloc(c * 4);
  const invStd = heap.alloc(c * 4);
  const ones = gamma ? 0 : heap.alloc(c * 4);
  const zeros = beta ? 0 : heap.alloc(c * 4);
  if (ones) f.fill(c, 1, ones);
  if (zeros) f.fill(c, 0, zeros);
  f.meanVarRows(rows, c, x.ptr, mean, variance);
  const M = heap.f32At(mean, c);
  const V = heap.f32At(variance, c);
  const IS = heap.f32At(invStd, c);
  const RM = runningMean.data;
  const RV = runningVar.data;
  for (let j = 0; j < c; j++) {
    IS[j] = invStdOf(V[j]!, eps);
    RM[j] = momentum * RM[j]! + (1 - momentum) * M[j]!;
    RV[j] = momentum * RV[j]! + (1 - momentum) * V[j]!;
  }
  const needs = ctx.needsGrad(x, gamma, beta);
  const out = ctx.empty(x.shape);
  const xhat = needs ? out.saveBuffer(heap.alloc(x.size * 4)) : 0;
  const gammaPtr = gamma ? gamma.ptr : ones;
  f.batchNormForward(rows, c, x.ptr, mean, invStd, gammaPtr, beta ? beta.ptr : zeros, out.ptr, xhat);
  heap.free(mean);
  heap.free(variance);
  if (zeros) heap.free(zeros);
  if (!needs) {
    heap.free(invStd);
    if (ones) heap.free(ones);
    return out;
  }
  out.saveBuffer(invStd);
  if (ones) out.saveBuffer(ones);
  out.setBackward(
    [x, gamma, beta].filter((t): t is Tensor => t !== null),
    () => {
      const dy = out.grad!;
      // The kernel adds into dgamma/dbeta and overwrites dx: route each to the grad or to scratch.
      const scratch: number[] = [];
      const take = (bytes: number) => {
        const p = heap.alloc(bytes);
        scratch.push(p);
        return p;
      };
      const channelGrad = (t: Tensor | null): number => {
        if (!t?.requiresGrad) {
          const p = take(c * 4);
          f.fill(c, 0, p);
          return p;
        }
        let target = 0;
        t.accumulateGrad((ptr, overwrite) => {
          if (overwrite) f.fill(c, 0, ptr);
          target = ptr;
        });
        return target;
      };
      try {
        const dgamma = channelGrad(gamma);
        const dbeta = channelGrad(beta);
        if (x.requiresGrad && x.grad === null && !x.isLeaf) {
          x.accumulateGrad((ptr) =>
            f.batchNormBackward(rows, c, dy.ptr, xhat, gammaPtr, invStd, ptr, dgamma, dbeta),
          );
        } else {
          const dx = take(x.size * 4);
          f.batchNormBackward(rows, c, dy.ptr, xhat, gammaPtr, invStd, dx, dgamma, dbeta);
          if (x.requiresGrad) x.accumulateGrad((ptr) => f.axpy(x.size, 1, dx, ptr));
        }
      } finally {
        for (const p of scratch) heap.free(p);
      }
    },
  );
  return out;
}
