/**
 * Class probabilities from the engine's scores. `Engine.predict` returns raw scores
 * (logits, as the training graph computes them); `softmax` turns each image's row into
 * probabilities that sum to 1:
 *
 *     const { scores, numClasses } = engine.predict(pixels);
 *     const p = softmax(scores, numClasses); // p[i * numClasses + k]: image i, class k
 */
import { OptionsError } from "../errors.js";

/**
 * Row-wise softmax of `scores` ([rows, numClasses], row-major; numClasses defaults to the
 * whole array, one row): exp(s - max) / sum, so large scores do not overflow. Returns a new
 * Float32Array; `temperature` (default 1) divides the scores first.
 */
export function softmax(
  scores: ArrayLike<number>,
  numClasses: number = scores.length,
  temperature = 1,
): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses <= 0 || scores.length % numClasses !== 0) {
    throw new OptionsError(
      "softmax",
      "numClasses",
      `numClasses must be a positive integer dividing the ${scores.length} scores, got ${numClasses}`,
    );
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new OptionsError(
      "softmax",
      "temperature",
      `temperature must be a positive number, got ${temperature}`,
    );
  }
  const out = new Float32Array(scores.length);
  for (let base = 0; base < scores.length; base += numClasses) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < numClasses; j++) max = Math.max(max, scores[base + j]!);
    let sum = 0;
    const e = new Float64Array(numClasses);
    for (let j = 0; j < numClasses; j++) {
      e[j] = Math.exp((scores[base + j]! - max) / temperature);
      sum += e[j]!;
    }
    for (let j = 0; j < numClasses; j++) out[base + j] = e[j]! / sum;
  }
  return out;
}
