/**
 * What every sensitivity variant goes through before its test: a brief fine-tune (Adam,
 * softmax cross-entropy, latent weights clipped as in training) and a batch-norm
 * re-estimation. Changing one layer's precision shifts the statistics of every batch norm
 * after it; running averages with momentum 0.99 need hundreds of steps to follow, so the
 * statistics are recomputed exactly on a calibration slice instead (as AdaBN does):
 *   mean_c = E[x_c], var_c = E[x_c^2] - mean_c^2   (biased, as the training op),
 * one batch norm at a time in model order, each seeing the already re-estimated ones.
 */
import { BatchIterator, type Dataset, imageSize, normalize, type Preprocessing } from "../data/index.js";
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

/** Recomputes every batch norm's running mean and variance on the first `count` images of `data`. */
export function recalibrateBatchNorm(
  model: Model,
  data: Dataset,
  pre: Preprocessing,
  count = 1000,
  batchSize = 250,
): void {
  const ctx = model.ctx;
  const n = Math.min(count, data.count);
  const size = imageSize(data);
  const x = new Float32Array(batchSize * size);
  const mode = { training: false, rng: new Random(0) };
  model.layers.forEach((bn, b) => {
    if (bn.type !== "batch_norm") return;
    const [mean, variance] = bn.buffers().map((t) => t.tensor);
    const c = mean!.size;
    const sum = new Float64Array(c);
    const sq = new Float64Array(c);
    let rows = 0;
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      normalize(data.images.subarray(start * size, (start + m) * size), pre, x);
      ctx.noGrad(() =>
        ctx.tidy(() => {
          const input = ctx.fromArray(x.subarray(0, m * size), [m, ...model.inputShape]);
          // The batch norm's input: the model input or the output of the layer it reads.
          const from = model.sources[b]![0]!;
          let h = input;
          if (from >= 0) {
            model.forward(input, mode, (i, t) => {
              if (i === from) h = t;
            });
          }
          const d = h.data;
          for (let i = 0; i < d.length; i++) {
            const v = d[i]!;
            sum[i % c]! += v;
            sq[i % c]! += v * v;
          }
          rows += d.length / c;
        }),
      );
    }
    for (let j = 0; j < c; j++) {
      const mu = sum[j]! / rows;
      mean!.data[j] = mu;
      variance!.data[j] = Math.max(0, sq[j]! / rows - mu * mu);
    }
  });
}
