/**
 * Batch-norm statistics recomputed exactly on a calibration slice (as AdaBN does), in eval
 * mode: mean_c = E[x_c], var_c = E[x_c^2] - mean_c^2 (biased, as the training op), one
 * batch norm at a time in model order, each seeing the already re-estimated ones.
 *
 * Why: running averages trail the batch statistics while binary weights flip, and in a
 * residual BNN the real-valued sum carries each block's offset on to every later sign, so
 * a model can be far better in training mode than in eval mode. The sensitivity analysis
 * re-estimates after changing a layer's precision; `train()` does it after each epoch
 * when `bnCalibration` is set.
 */
import { type Dataset, imageSize, normalize, type Preprocessing } from "../data/index.js";
import type { Model } from "../nn/model.js";
import { Random } from "../util/random.js";

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
