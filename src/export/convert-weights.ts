/**
 * Binary weights for the engine: the training graph's quantized kernel q(W) is, per output
 * channel o, alpha[o] * sign(W) (alpha = 1 for plain sign). The engine stores sign as bits
 * (bit 1 = +1, the last axis packed) and alpha as a float folded into the output transform.
 */
import type { BitTensor } from "../engine/model.js";
import { packSigns } from "../kernels/bits.js";

/**
 * Bits of sign(q) and the per-channel |q| (undefined when every channel's is 1), for a
 * quantized kernel q of shape [O, ..., C]. Throws when a channel's |q| is not constant.
 */
export function packWeightSigns(
  q: Float32Array,
  shape: number[],
  label: string,
): { bits: BitTensor; alpha?: Float32Array } {
  const outC = shape[0]!;
  const c = shape[shape.length - 1]!;
  const perChannel = q.length / outC;
  const alpha = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const a = Math.abs(q[o * perChannel]!);
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) {
      if (Math.abs(q[i]!) !== a) {
        throw new Error(
          `convert: ${label}: output channel ${o} of the quantized kernel is not alpha * sign(W) (|q| = ${a} and ${Math.abs(q[i]!)})`,
        );
      }
    }
    alpha[o] = a;
  }
  const bits: BitTensor = { dtype: "bits", shape: [...shape], data: packSigns(q, q.length / c, c) };
  return alpha.every((a) => a === 1) ? { bits } : { bits, alpha };
}
