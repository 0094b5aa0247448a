/**
 * Training metrics: accuracy from logits, and the flip ratio of binary weights.
 */
import type { Param } from "./optimizers.js";

/** Number of rows of logits [n, classes] whose argmax (first maximum) equals the label. */
export function countCorrect(
  logits: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  classes: number,
): number {
  let correct = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (logits[r * classes + j]! > logits[r * classes + best]!) best = j;
    if (best === labels[r]) correct++;
  }
  return correct;
}

/** sign bits (1 for w >= 0) of every binary parameter, to compare later. */
export function signSnapshot(params: readonly Param[]): Uint8Array[] {
  return params.filter((p) => p.binary).map((p) => Uint8Array.from(p.tensor.data, (w) => (w >= 0 ? 1 : 0)));
}

/**
 * Flip ratio: the fraction of binary weights whose sign differs from `before` (a
 * signSnapshot of the same parameters), e.g. over one epoch. 0 when there are none.
 */
export function flipRatio(params: readonly Param[], before: readonly Uint8Array[]): number {
  let flips = 0;
  let total = 0;
  params
    .filter((p) => p.binary)
    .forEach((p, i) => {
      const d = p.tensor.data;
      const s = before[i]!;
      for (let j = 0; j < d.length; j++) if ((d[j]! >= 0 ? 1 : 0) !== s[j]) flips++;
      total += d.length;
    });
  return total === 0 ? 0 : flips / total;
}
