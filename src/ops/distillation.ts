/**
 * Knowledge distillation loss: ReActNet's distributional loss (Liu et al. 2020, "ReActNet:
 * Towards Precise Binary Neural Network with Generalized Activation Functions", sec. 4.2),
 * the cross-entropy of the student's softmax against a (float) teacher's softmax, with
 * Hinton et al.'s (2015) optional temperature T and the usual T^2 scaling:
 *
 *   p_T = softmax(t / T),  p_S = softmax(s / T)                 (each row of [N, C] logits)
 *   L   = T^2 * mean_r ( -sum_c p_T[r, c] * log p_S[r, c] )     (a scalar [])
 *
 *   dL/ds[r, j] =  T / N * (p_S[r, j] - p_T[r, j])
 *   dL/dt[r, j] = -T / N * p_T[r, j] * (log p_S[r, j] - sum_c p_T[r, c] * log p_S[r, c])
 *
 * At T = 1 this is ReActNet's loss exactly. It equals KL(p_T || p_S) plus the teacher's
 * entropy, which does not depend on the student, so the student's gradient is Hinton's; the
 * T^2 factor keeps that gradient's size independent of T (softening divides it by T). The
 * teacher's gradient is there for completeness: a teacher normally runs without a graph.
 * Computed in float64 (log-sum-exp with the row maximum subtracted).
 *
 *     const loss = distillationLoss(studentLogits, teacherLogits, { temperature: 1 });
 *     loss.backward();
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { checkRank, contextOf } from "./grad.js";

/** The temperature of `distillationLoss`. */
export interface DistillationLossOptions {
  /** Softmax temperature T > 0 of both distributions (default 1: ReActNet's loss). */
  temperature?: number;
}

/**
 * ReActNet's distributional loss: the cross-entropy of the student's softmax against the
 * teacher's, both [N, C] logits, scaled by T^2; a scalar.
 */
export function distillationLoss(
  student: Tensor,
  teacher: Tensor,
  options: DistillationLossOptions = {},
): Tensor {
  const ctx = contextOf("distillationLoss", student, teacher);
  checkRank("distillationLoss", "student logits [N, C]", student, 2);
  checkRank("distillationLoss", "teacher logits [N, C]", teacher, 2);
  if (student.shape[0] !== teacher.shape[0] || student.shape[1] !== teacher.shape[1]) {
    throw new Error(
      `distillationLoss: student logits ${formatShape(student.shape)} and teacher logits ${formatShape(teacher.shape)} differ`,
    );
  }
  const temperature = options.temperature ?? 1;
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new RangeError(`distillationLoss: temperature must be a positive number, got ${temperature}`);
  }
  const [rows, cols] = student.shape as [number, number];
  if (rows === 0 || cols === 0) {
    throw new Error(`distillationLoss: empty logits ${formatShape(student.shape)}`);
  }
  const needS = ctx.needsGrad(student);
  const needT = ctx.needsGrad(teacher);
  // dL/ds and dL/dt per unit of the output's gradient, kept (in JS memory) for backward.
  const ds = needS ? new Float32Array(rows * cols) : null;
  const dt = needT ? new Float32Array(rows * cols) : null;
  const s = student.data;
  const t = teacher.data;
  const pT = new Float64Array(cols);
  const logPS = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    logSoftmax(t, o, cols, temperature, pT);
    for (let c = 0; c < cols; c++) pT[c] = Math.exp(pT[c]!);
    logSoftmax(s, o, cols, temperature, logPS);
    let cross = 0;
    for (let c = 0; c < cols; c++) if (pT[c]! > 0) cross += pT[c]! * logPS[c]!;
    total -= cross;
    if (ds) {
      for (let c = 0; c < cols; c++) ds[o + c] = (temperature / rows) * (Math.exp(logPS[c]!) - pT[c]!);
    }
    if (dt) {
      for (let c = 0; c < cols; c++) {
        dt[o + c] = pT[c]! > 0 ? (-temperature / rows) * pT[c]! * (logPS[c]! - cross) : 0;
      }
    }
  }
  const out = ctx.scalar((temperature * temperature * total) / rows);
  if (ds || dt) {
    out.setBackward([student, teacher], () => {
      const g = out.grad!.item();
      for (const [x, d] of [
        [student, ds],
        [teacher, dt],
      ] as const) {
        if (!d) continue;
        x.accumulateGrad((ptr, overwrite) => {
          const dx = ctx.heap.f32At(ptr, x.size);
          for (let i = 0; i < d.length; i++) dx[i] = overwrite ? g * d[i]! : dx[i]! + g * d[i]!;
        });
      }
    });
  }
  return out;
}

/** out[c] = log softmax(x[o .. o + cols] / T)[c], in float64. */
function logSoftmax(x: Float32Array, o: number, cols: number, temperature: number, out: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < cols; c++) max = Math.max(max, x[o + c]! / temperature);
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += Math.exp(x[o + c]! / temperature - max);
  const lse = max + Math.log(sum);
  for (let c = 0; c < cols; c++) out[c] = x[o + c]! / temperature - lse;
}
