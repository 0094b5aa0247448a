/**
 * Evaluation: the model in eval mode (running BN statistics, deterministic quantizers) over
 * a whole split, in batches, without recording a graph.
 */
import { type Dataset, imageSize, normalize, type Preprocessing } from "../data/index.js";
import type { Model } from "../nn/model.js";
import { softmaxCrossEntropy } from "../ops/index.js";
import { Random } from "../util/random.js";
import { countCorrect } from "./metrics.js";

/** Loss and accuracy of a model over a data set. */
export interface EvalResult {
  accuracy: number;
  /** Mean softmax cross-entropy. */
  loss: number;
  count: number;
}

/**
 * Runs `model` in eval mode over `data` in batches and returns its mean cross-entropy loss and
 * accuracy.
 */
export function evaluate(model: Model, data: Dataset, pre: Preprocessing, batchSize = 500): EvalResult {
  const ctx = model.ctx;
  const size = imageSize(data);
  const shape = model.inputShape;
  if (shape.reduce((a, b) => a * b, 1) !== size) {
    throw new Error(
      `${data.name}: images are ${data.height}x${data.width}x${data.channels}, model expects [${shape}]`,
    );
  }
  const mode = { training: false, rng: new Random(0) };
  let correct = 0;
  let lossSum = 0;
  const x = new Float32Array(batchSize * size);
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    normalize(data.images.subarray(start * size, (start + n) * size), pre, x);
    const labels = data.labels.subarray(start, start + n);
    ctx.noGrad(() =>
      ctx.tidy(() => {
        const logits = model.forward(ctx.fromArray(x.subarray(0, n * size), [n, ...shape]), mode);
        const classes = logits.shape[1]!;
        correct += countCorrect(logits.data, labels, n, classes);
        lossSum += softmaxCrossEntropy(logits, labels).item() * n;
      }),
    );
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count, count: data.count };
}
