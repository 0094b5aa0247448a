/**
 * Retrain mode of the sensitivity analysis: a variant is trained from scratch (fresh
 * initialization, src/train/trainer.ts) with the schedule of the checkpoint it came from,
 * instead of fine-tuned from the checkpoint's weights. A checkpoint written by `train()`
 * stores its settings in `state.train` (epochs, batch size, lr, schedule, decay,
 * optimizer, loss, augmentation, batch-norm calibration); `--epochs`, `--lr` and `--batch`
 * override them. The seed is the run's, not the checkpoint's (`--seeds N` repeats with
 * seeds s, s + 1, ...), and a distilled run is retrained without its teacher.
 */
import { type DataSplits, limitDataset } from "../data/index.js";
import type { Checkpoint } from "../nn/checkpointFormat.js";
import type { ModelSpec } from "../nn/spec.js";
import type { Context } from "../tensor/context.js";
import { evaluate, type TrainConfig, train } from "../train/index.js";
import type { ProgressMode } from "../util/progress.js";
import { recalibrateBatchNorm } from "./tune.js";

/** The training settings a variant is retrained with (a TrainConfig without model and seed). */
export type RetrainSchedule = Omit<TrainConfig, "model" | "seed" | "distillation">;

/** Overrides from the command line. */
export interface ScheduleOverrides {
  epochs?: number;
  lr?: number;
  batchSize?: number;
}

/** Test images each epoch's progress line is measured on (the result uses the whole test set). */
export const PROGRESS_TEST_IMAGES = 1000;

/** The checkpoint's stored training settings with the overrides applied; errors name the file. */
export function retrainSchedule(ck: Checkpoint, file: string, o: ScheduleOverrides): RetrainSchedule {
  const stored = (ck.state as { train?: Partial<TrainConfig> }).train;
  const { seed: _seed, distillation: _distillation, model: _model, ...kept } = stored ?? {};
  const epochs = o.epochs ?? kept.epochs;
  const lr = o.lr ?? kept.lr;
  if (epochs === undefined || lr === undefined) {
    throw new Error(
      `${file}: the checkpoint stores no training settings (state.train); retraining needs --epochs and --lr`,
    );
  }
  return { ...kept, epochs, lr, batchSize: o.batchSize ?? kept.batchSize ?? 64 };
}

export interface RetrainOptions {
  ctx: Context;
  data: DataSplits;
  spec: ModelSpec;
  schedule: RetrainSchedule;
  seed: number;
  /** Training images for the batch-norm re-estimation before the test. */
  calibrationImages: number;
  progress?: ProgressMode | "auto";
  /** Called after each epoch with its training seconds. */
  onEpoch?: (epoch: number, seconds: number) => void;
}

/**
 * Trains `spec` from scratch, re-estimates its batch norms on the calibration slice (as the
 * fine-tune mode does) and returns its accuracy on the whole test set.
 */
export async function retrainVariant(o: RetrainOptions): Promise<number> {
  const { data } = o;
  let last = performance.now();
  const result = await train({
    ctx: o.ctx,
    // Each epoch's progress line tests on a slice; the result is tested on every image below.
    data: { ...data, test: limitDataset(data.test, Math.min(PROGRESS_TEST_IMAGES, data.test.count)) },
    config: { ...o.schedule, model: o.spec, seed: o.seed },
    progress: o.progress === "auto" ? undefined : (o.progress ?? "quiet"),
    onEpoch: (r) => {
      const now = performance.now();
      o.onEpoch?.(r.epoch, (now - last) / 1000);
      last = now;
    },
  });
  const model = result.model;
  try {
    recalibrateBatchNorm(model, data.train, data.preprocessing, o.calibrationImages);
    return evaluate(model, data.test, data.preprocessing).accuracy;
  } finally {
    model.dispose();
  }
}
