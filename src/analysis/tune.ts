/**
 * What every sensitivity variant goes through before its test: a brief fine-tune (Adam,
 * softmax cross-entropy, latent weights clipped as in training) and a batch-norm
 * re-estimation. Changing one layer's precision shifts the statistics of every batch norm
 * after it; running averages with momentum 0.99 need hundreds of steps to follow, so the
 * statistics are recomputed exactly on a calibration slice instead (src/train/calibrate.ts).
 */
import { BatchIterator, type Dataset, imageSize, type Preprocessing } from "../data/index.js";
import type { Model } from "../nn/model.js";
import { softmaxCrossEntropy } from "../ops/index.js";
import { adam } from "../train/index.js";
import { Random } from "../util/random.js";

export interface FinetuneOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Called after each step with (step, total steps). */
  onStep?: (step: number, total: number) => void;
}

/** Fine-tunes `model` in place on `data` for `epochs` passes; returns the steps taken. */
export function finetune(model: Model, data: Dataset, pre: Preprocessing, o: FinetuneOptions): number {
  if (o.epochs <= 0 || data.count === 0) return 0;
  const ctx = model.ctx;
  const params = model.params();
  const opt = adam(ctx, params);
  const batches = new BatchIterator(data, { batchSize: o.batchSize, seed: o.seed, preprocessing: pre });
  const size = imageSize(data);
  const x = new Float32Array(o.batchSize * size);
  const y = new Int32Array(o.batchSize);
  const rng = new Random(o.seed + 2);
  const total = o.epochs * batches.batchesPerEpoch;
  let step = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (const n of batches.epochBatches(x, y)) {
        ctx.tidy(() => {
          const input = ctx.fromArray(x.subarray(0, n * size), [n, ...model.inputShape]);
          const loss = softmaxCrossEntropy(model.forward(input, { training: true, rng }), y.subarray(0, n));
          for (const p of params) p.tensor.zeroGrad();
          loss.backward();
          ctx.noGrad(() => opt.step(o.lr));
        });
        o.onStep?.(++step, total);
      }
    }
  } finally {
    opt.dispose();
  }
  return step;
}

export { recalibrateBatchNorm } from "../train/calibrate.js";
