/**
 * Glorot (Xavier) uniform initialization, as Larq, Keras and the PyTorch reference trainer
 * use: W ~ U(-l, l), l = sqrt(6 / (fanIn + fanOut)). For a dense kernel [out, in],
 * fanIn = in, fanOut = out; for a conv kernel OHWI [O, kh, kw, C], fanIn = kh*kw*C and
 * fanOut = kh*kw*O.
 */
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Random } from "../util/random.js";

export function glorotUniform(ctx: Context, shape: readonly number[], rng: Random): Tensor {
  const receptive = shape.slice(1, -1).reduce((a, b) => a * b, 1);
  const fanIn = shape[shape.length - 1]! * receptive;
  const fanOut = shape[0]! * receptive;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return ctx.uniform(shape, rng, -limit, limit);
}
