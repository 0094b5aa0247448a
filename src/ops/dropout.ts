/**
 * Inverted dropout (Srivastava et al. 2014): in training, each element is kept with
 * probability 1 - rate and scaled by 1 / (1 - rate), so evaluation is the identity.
 *   y = x * m, m_i = 1/(1-rate) with probability 1-rate else 0;  dx += g * m.
 * The mask comes from the caller's seeded Random (reproducible runs).
 *
 *     const h = dropout(x, 0.2, { training: true, rng });
 */

import type { Tensor } from "../tensor/tensor.js";
import type { Random } from "../util/random.js";

/** Whether dropout is active (training) and the RNG it draws from. */
export interface DropoutOptions {
  training: boolean;
  rng: Random;
}

/**
 * Zeroes each value with probability `rate` in training (the rest scaled by 1 / (1 - rate));
 * the identity otherwise.
 */
export function dropout(x: Tensor, rate: number, { training, rng }: DropoutOptions): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  const ctx = x.ctx;
  const f = ctx.float;
  const out = ctx.empty(x.shape);
  if (!training || rate === 0) {
    f.copy(x.size, x.ptr, out.ptr);
    if (ctx.needsGrad(x)) {
      out.setBackward([x], () => {
        const g = out.grad!;
        x.accumulateGrad((ptr, overwrite) =>
          overwrite ? f.copy(x.size, g.ptr, ptr) : f.axpy(x.size, 1, g.ptr, ptr),
        );
      });
    }
    return out;
  }
  const mask = ctx.heap.alloc(x.size * 4);
  const scale = 1 / (1 - rate);
  const m = ctx.heap.f32At(mask, x.size);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() >= rate ? scale : 0;
  f.binary("mul", x.size, x.ptr, mask, out.ptr);
  if (!ctx.needsGrad(x)) {
    ctx.heap.free(mask);
    return out;
  }
  out.saveBuffer(mask);
  out.setBackward([x], () => {
    const g = out.grad!;
    x.accumulateGrad((ptr, overwrite) => {
      if (overwrite) {
        f.binary("mul", x.size, g.ptr, mask, ptr);
      } else {
        const tmp = ctx.heap.alloc(x.size * 4);
        f.binary("mul", x.size, g.ptr, mask, tmp);
        f.axpy(x.size, 1, tmp, ptr);
        ctx.heap.free(tmp);
      }
    });
  });
  return out;
}
