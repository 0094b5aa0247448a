/**
 * What every sensitivity variant goes through before its test: a brief fine-tune (Adam,
 * softmax cross-entropy, latent weights clipped as in training) and a batch-norm
 * re-estimation. Changing one layer's precision shifts the statistics of every batch norm
 * after it; running averages with momentum 0.99 need hundreds of steps to follow, so the
 * statistics are recomputed exactly on a calibration slice instead (src/train/calibrate.ts).
 * `finetuneVariant` does both to a variant and tests it; `timeTraining` times a few
 * training steps for the run's estimate.
 */
import {
  BatchIterator,
  type DataSplits,
  type Dataset,
  imageSize,
  limitDataset,
  type Preprocessing,
} from "../data/index.js";
import type { Checkpoint } from "../nn/checkpointFormat.js";
import type { Model } from "../nn/model.js";
import { softmaxCrossEntropy } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import { recalibrateBatchNorm } from "../train/calibrate.js";
import { adam, evaluate } from "../train/index.js";
import { Random } from "../util/random.js";
import {
  buildVariant,
  checkpointLayers,
  isGraphCheckpoint,
  type PrecisionEdit,
  variantRecords,
} from "./variant.js";

export { recalibrateBatchNorm };

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

/**
 * Builds a variant from the checkpoint's weights, fine-tunes it, re-estimates its batch
 * norms on `calibrationImages` training images and returns its test accuracy.
 */
export function finetuneVariant(
  ctx: Context,
  data: DataSplits,
  ck: Checkpoint,
  file: string,
  edits: PrecisionEdit[],
  o: FinetuneOptions & { calibrationImages: number },
): number {
  const model = buildVariant(
    ctx,
    ck,
    variantRecords(checkpointLayers(ck), edits, isGraphCheckpoint(ck)),
    file,
  );
  try {
    const { train, test, preprocessing } = data;
    finetune(model, train, preprocessing, o);
    recalibrateBatchNorm(model, train, preprocessing, o.calibrationImages);
    return evaluate(model, test, preprocessing).accuracy;
  } finally {
    model.dispose();
  }
}

/**
 * Seconds per training image of a variant at batch size `batch`: 16 steps on a slice of
 * the training set, timed after 3 warm-up steps (a fresh model's first steps allocate).
 */
export function timeTraining(
  ctx: Context,
  data: DataSplits,
  ck: Checkpoint,
  file: string,
  edits: PrecisionEdit[],
  batch: number,
): number {
  const warmup = 3;
  const steps = 16;
  const slice = limitDataset(data.train, Math.min(data.train.count, (warmup + steps) * batch));
  const model = buildVariant(
    ctx,
    ck,
    variantRecords(checkpointLayers(ck), edits, isGraphCheckpoint(ck)),
    file,
  );
  let from = 0;
  let taken = 0;
  try {
    taken = finetune(model, slice, data.preprocessing, {
      epochs: 1,
      batchSize: batch,
      lr: 1e-4,
      seed: 0,
      onStep: (step) => {
        if (step === warmup) from = performance.now();
      },
    });
  } finally {
    model.dispose();
  }
  const images = Math.min(slice.count, taken * batch) - warmup * batch;
  return images > 0 ? (performance.now() - from) / 1000 / images : 0;
}
