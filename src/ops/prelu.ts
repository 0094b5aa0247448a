/**
 * Per-channel PReLU (He et al. 2015) over the last axis: x [..., C], alpha [C].
 *   forward   y = x                 for x >= 0,   y = alpha[c] * x        for x < 0
 *   backward  dx += g               for x >= 0,   dx += alpha[c] * g      for x < 0
 *             dalpha[c] += sum over the positions of channel c with x < 0 of g * x
 * At x = 0 the x >= 0 branch applies (slope 1, no alpha gradient).
 *
 *     const y = prelu(x, alpha); // x [N, H, W, C], alpha [C] (ReActNet's RPReLU: shift, prelu, shift)
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { checkRank, contextOf } from "./grad.js";

/** y = x for x >= 0, alpha * x otherwise, with alpha [C] per channel; differentiable in both. */
export function prelu(x: Tensor, alpha: Tensor): Tensor {
  const ctx = contextOf("prelu", x, alpha);
  if (x.rank < 1) throw new Error(`prelu: input x must have rank >= 1, got shape ${formatShape(x.shape)}`);
  checkRank("prelu", "alpha [C]", alpha, 1);
  const c = x.shape[x.rank - 1]!;
  if (alpha.shape[0] !== c) {
    throw new Error(
      `prelu: alpha ${formatShape(alpha.shape)} must have one slope per channel of x ${formatShape(x.shape)}`,
    );
  }
  const rows = x.size / c;
  const out = ctx.empty(x.shape);
  {
    const xd = x.data;
    const ad = alpha.data;
    const y = out.data;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < c; j++) {
        const v = xd[r * c + j]!;
        y[r * c + j] = v >= 0 ? v : ad[j]! * v;
      }
    }
  }
  if (ctx.needsGrad(x, alpha)) {
    out.setBackward([x, alpha], () => {
      const g = out.grad!;
      if (x.requiresGrad) {
        x.accumulateGrad((ptr, overwrite) => {
          const dx = ctx.heap.f32At(ptr, x.size);
          const xd = x.data;
          const ad = alpha.data;
          const gd = g.data;
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < c; j++) {
              const i = r * c + j;
              const d = xd[i]! >= 0 ? gd[i]! : ad[j]! * gd[i]!;
              dx[i] = overwrite ? d : dx[i]! + d;
            }
          }
        });
      }
      if (alpha.requiresGrad) {
        const sums = new Float64Array(c);
        const xd = x.data;
        const gd = g.data;
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < c; j++) {
            const v = xd[r * c + j]!;
            if (v < 0) sums[j]! += gd[r * c + j]! * v;
          }
        }
        alpha.accumulateGrad((ptr, overwrite) => {
          const da = ctx.heap.f32At(ptr, c);
          for (let j = 0; j < c; j++) da[j] = overwrite ? sums[j]! : da[j]! + sums[j]!;
        });
      }
    });
  }
  return out;
}
