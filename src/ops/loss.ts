/**
 * Losses, each returning a scalar tensor [].
 *
 * softmaxCrossEntropy(logits [N, C], labels [N] ints) = mean_r (logsumexp(z_r) - z_r[y_r]);
 *   dlogits = g * (softmax(z) - onehot(y)) / N (computed by the fused kernel in forward).
 * squaredHinge(y [N, C], t [N, C] of +/-1) = mean over all elements of max(0, 1 - t*y)^2
 *   (BNN's loss, Keras' squared_hinge averaged over the batch); composed from primitives.
 *
 *     const loss = softmaxCrossEntropy(logits, labels);
 *     loss.backward();
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { mul, sub } from "./arith.js";
import { checkRank, composite } from "./grad.js";
import { mean } from "./reduce.js";
import { relu, square } from "./unary.js";

/** The mean softmax cross-entropy of logits [N, C] against integer labels [N]; a scalar. */
export function softmaxCrossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  checkRank("softmaxCrossEntropy", "logits [N, C]", logits, 2);
  const [rows, cols] = logits.shape as [number, number];
  if (labels.length !== rows) {
    throw new Error(`softmaxCrossEntropy: ${labels.length} labels for logits ${formatShape(logits.shape)}`);
  }
  const ctx = logits.ctx;
  const heap = ctx.heap;
  const labelPtr = heap.alloc(rows * 4);
  const needs = ctx.needsGrad(logits);
  const dlogits = needs ? heap.alloc(logits.size * 4) : 0;
  let loss: number;
  try {
    heap.i32At(labelPtr, rows).set(labels);
    loss = ctx.float.softmaxCrossEntropy(rows, cols, logits.ptr, labelPtr, dlogits);
  } catch (e) {
    if (dlogits) heap.free(dlogits);
    throw e;
  } finally {
    heap.free(labelPtr);
  }
  const out = ctx.scalar(loss);
  if (needs) {
    out.saveBuffer(dlogits);
    out.setBackward([logits], () => {
      const g = out.grad!.item();
      logits.accumulateGrad((ptr, overwrite) => {
        if (overwrite) ctx.float.binaryScalar("mul", logits.size, dlogits, g, ptr);
        else ctx.float.axpy(logits.size, g, dlogits, ptr);
      });
    });
  }
  return out;
}

/**
 * The mean of max(0, 1 - t * y)^2 over y and +/-1 targets t of the same shape (BNN's loss); a
 * scalar.
 */
export function squaredHinge(y: Tensor, targets: Tensor): Tensor {
  if (y.rank !== targets.rank || y.shape.some((d, i) => d !== targets.shape[i])) {
    throw new Error(
      `squaredHinge: predictions ${formatShape(y.shape)} and targets ${formatShape(targets.shape)} differ`,
    );
  }
  return composite(y.ctx, [y, targets], () => mean(square(relu(sub(1, mul(targets, y))))));
}
