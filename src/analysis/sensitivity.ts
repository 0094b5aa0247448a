/**
 * Per-layer sensitivity to binarization and bit width (the method behind "keep the first
 * and last layers at higher precision"):
 * - binarize-one: from a full-precision model, quantize only layer i (its weights and its
 *   input activations) to k bits, k in `bits`; drop_i(k) = acc(reference) - acc(variant).
 * - keep-one: from a binary model, keep only layer i at full precision;
 *   gain_i = acc(variant) - acc(reference).
 * Each variant and each mode's reference (./sensitivityPlan.ts) is measured one of two ways:
 * - "finetune" (default, fast): from the checkpoint's weights, a brief fine-tune (./tune.ts);
 * - "retrain": trained from scratch with the checkpoint's schedule (./retrain.ts).
 * Then its batch norms are re-estimated and it is tested once. With `seeds` > 1 every model
 * is measured with seeds s, s + 1, ...; results carry the mean, the standard deviation and
 * a 95% Student-t interval (./stats.ts), and a variant's change against its reference is
 * computed from per-seed pairs (variant and reference with the same seed share the
 * initialization and the batch order), "beyond noise" when its interval excludes 0.
 * A model measured twice (the same spec, weights source, schedule and seed) is measured
 * once: references are shared across modes and coinciding variants reuse each other.
 */
import type { DataSplits } from "../data/index.js";
import type { Checkpoint } from "../nn/checkpointFormat.js";
import type { Context } from "../tensor/context.js";
import type { ProgressMode } from "../util/progress.js";
import {
  PROGRESS_TEST_IMAGES,
  type RetrainSchedule,
  retrainSchedule,
  retrainVariant,
  type ScheduleOverrides,
} from "./retrain.js";
import { type ModeName, type PlanEntry, planSensitivity, type SensitivityMode } from "./sensitivityPlan.js";
import { pairedDifference, summarize } from "./stats.js";
import { finetuneVariant, timeTraining } from "./tune.js";
import {
  checkpointInputShape,
  checkpointLayers,
  isGraphCheckpoint,
  variantRecords,
  variantSpec,
  type WeightLayer,
} from "./variant.js";

export type { SensitivityMode } from "./sensitivityPlan.js";
export type SensitivityMethod = "finetune" | "retrain";

export interface SensitivityOptions {
  ctx: Context;
  /** The full-precision model (binarize-one) and, without `binary`, the source of keep-one's. */
  checkpoint: Checkpoint;
  checkpointFile: string;
  /** A trained binary model for keep-one. */
  binary?: Checkpoint;
  binaryFile?: string;
  data: DataSplits;
  mode: SensitivityMode;
  bits: number[];
  /** Layer names to analyse (conv1, dense2, layers.3, a spec name or a block prefix); default every weight layer. */
  layers?: string[];
  /** Default "finetune". */
  method?: SensitivityMethod;
  /** Fine-tune: epochs, batch size and Adam learning rate. */
  finetuneEpochs: number;
  batchSize: number;
  lr: number;
  /** Retrain: the checkpoint's schedule with these overrides. */
  retrain?: ScheduleOverrides;
  /** The first seed (fine-tune batch order; retrain initialization and batch order). */
  seed: number;
  /** Seeds per model (default 1). */
  seeds?: number;
  /** Training images for the batch-norm re-estimation. */
  calibrationImages: number;
  /** Retrain: the trainer's per-epoch progress (default quiet). */
  progress?: ProgressMode | "auto";
  /** Before the first training: how many, and the estimated seconds (from a short timing). */
  onStart?: (e: { trainings: number; reused: number; estimateSeconds: number }) => void;
  /** A training (one model, one seed) starts; `steps` is its fine-tune steps (0 when retraining). */
  onTraining?: (e: TrainingEvent & { steps: number }) => void;
  /** Fine-tune: after each step. */
  onStep?: (step: number, steps: number) => void;
  /** A training has been tested; `remainingSeconds` estimates the rest of the run. */
  onTrained?: (e: TrainingEvent & { accuracy: number; seconds: number; remainingSeconds: number }) => void;
}

export interface TrainingEvent {
  label: string;
  seed: number;
  /** 0-based index of the training among those run, and their count. */
  index: number;
  total: number;
}

/** Accuracy over seeds: mean, spread and 95% interval. */
export interface AccuracyStats {
  /** Mean over seeds. */
  accuracy: number;
  /** Per seed, in the order of `SensitivityReport.seeds`. */
  perSeed: number[];
  sd: number | null;
  /** 95% Student-t interval of the mean (null with one seed). */
  interval: [number, number] | null;
}

export interface VariantResult extends AccuracyStats {
  layer: string;
  /** Layer indices of the group (one for a single layer). */
  index: number;
  indices: number[];
  /** Bit width of the changed layer (32 = kept full precision). */
  bits: number;
  /** binarize-one: reference - accuracy; keep-one: accuracy - reference (gain); mean of per-seed pairs. */
  delta: number;
  /** 95% interval of `delta` from the per-seed pairs (null with one seed). */
  deltaInterval: [number, number] | null;
  /** The delta's interval excludes 0 (null with one seed). */
  beyondNoise: boolean | null;
  /** The variant is the reference itself (already at that precision): its results are the reference's. */
  same: boolean;
  /** Wall seconds of its trainings (0 when reused). */
  seconds: number;
}

export interface ModeResult {
  checkpoint: string;
  /** "checkpoint" (as stored) or "derived" (keep-one: every layer binarized from the float model). */
  reference: { source: "checkpoint" | "derived" } & AccuracyStats;
  layers: WeightLayer[];
  results: VariantResult[];
  /** Retrain: the schedule its models were trained with. */
  schedule?: RetrainSchedule;
}

export interface SensitivityReport {
  dataset: string;
  testImages: number;
  method: SensitivityMethod;
  /** The seeds every model was measured with. */
  seeds: number[];
  /** How the intervals are computed. */
  intervals: string;
  finetune?: { epochs: number; images: number; batchSize: number; lr: number };
  retrain?: { images: number };
  calibrationImages: number;
  bits: number[];
  binarizeOne?: ModeResult;
  keepOne?: ModeResult;
  /** References and variants (models), and the trainings run (model x seed, without reuse). */
  variants: number;
  trainings: number;
  reused: number;
  seconds: number;
}

export const INTERVALS_TEXT =
  "95% Student-t intervals over seeds (t(0.975, n - 1) sd / sqrt(n)); changes from per-seed pairs (variant minus reference with the same seed)";

/** Refuses a data set whose images do not fit the model input. */
export function checkInputShape(ck: Checkpoint, file: string, data: DataSplits): void {
  const shape = checkpointInputShape(ck);
  const d = data.test;
  if (shape.length !== 3 || shape[0] !== d.height || shape[1] !== d.width || shape[2] !== d.channels) {
    throw new Error(
      `${file}: the model expects input [${shape}], data set '${data.name}' has images [${d.height}, ${d.width}, ${d.channels}]`,
    );
  }
}

interface Training {
  entry: number;
  seed: number;
  key: string;
  /** Estimated cost in training image-passes (a test or calibration image counts 1/2, as measured). */
  work: number;
}

/** Runs the analysis; see the module doc. */
export async function runSensitivity(o: SensitivityOptions): Promise<SensitivityReport> {
  const t0 = performance.now();
  const method = o.method ?? "finetune";
  const nSeeds = o.seeds ?? 1;
  if (!Number.isInteger(nSeeds) || nSeeds < 1)
    throw new RangeError(`seeds must be a positive integer, got ${nSeeds}`);
  const seeds = Array.from({ length: nSeeds }, (_, i) => o.seed + i);
  checkInputShape(o.checkpoint, o.checkpointFile, o.data);
  if (o.binary) checkInputShape(o.binary, o.binaryFile ?? "binary checkpoint", o.data);
  const plan = planSensitivity(o);
  const { train, test } = o.data;
  const schedules = new Map<Checkpoint, RetrainSchedule>();
  const scheduleOf = (e: PlanEntry): RetrainSchedule | undefined => {
    if (method !== "retrain") return undefined;
    let s = schedules.get(e.ck);
    if (!s) {
      s = retrainSchedule(e.ck, e.file, o.retrain ?? {});
      schedules.set(e.ck, s);
    }
    return s;
  };
  const epochsOf = (e: PlanEntry) => scheduleOf(e)?.epochs ?? o.finetuneEpochs;
  const calibration = Math.min(o.calibrationImages, train.count);
  const specs = plan.entries.map((e) =>
    variantSpec(e.ck, variantRecords(checkpointLayers(e.ck), e.edits, isGraphCheckpoint(e.ck))),
  );

  // One training per distinct (model, weights, schedule, seed); the rest reuse it.
  const trainings: Training[] = [];
  const seen = new Set<string>();
  let reused = 0;
  plan.entries.forEach((e, entry) => {
    if (e.same) return;
    const source = method === "retrain" ? "" : e.file;
    for (const seed of seeds) {
      const key = JSON.stringify([source, specs[entry], scheduleOf(e) ?? null, seed]);
      if (seen.has(key)) {
        reused++;
        continue;
      }
      seen.add(key);
      const epochs = epochsOf(e);
      const evalImages =
        test.count + calibration + (method === "retrain" ? epochs * PROGRESS_TEST_IMAGES : 0);
      trainings.push({ entry, seed, key, work: epochs * train.count + evalImages / 2 });
    }
  });

  // The estimate: seconds per image-pass from a short timing of each source's reference.
  const rate = new Map<Checkpoint, number>();
  for (const e of plan.entries) {
    if (e.layer || rate.has(e.ck)) continue;
    const batch = method === "retrain" ? scheduleOf(e)!.batchSize : o.batchSize;
    rate.set(e.ck, timeTraining(o.ctx, o.data, e.ck, e.file, e.edits, batch));
  }
  const predicted = (t: Training) => t.work * rate.get(plan.entries[t.entry]!.ck)!;
  const totalPredicted = trainings.reduce((a, t) => a + predicted(t), 0);
  o.onStart?.({ trainings: trainings.length, reused, estimateSeconds: totalPredicted });

  const owner = new Map(trainings.map((t) => [t.key, t.entry]));
  const accuracyByKey = new Map<string, number>();
  const secondsByKey = new Map<string, number>();
  let donePredicted = 0;
  const runStart = performance.now();
  for (const [index, t] of trainings.entries()) {
    const e = plan.entries[t.entry]!;
    const label = e.label;
    const steps = method === "retrain" ? 0 : o.finetuneEpochs * Math.ceil(train.count / o.batchSize);
    const ev = { label, seed: t.seed, index, total: trainings.length };
    o.onTraining?.({ ...ev, steps });
    const start = performance.now();
    const accuracy =
      method === "retrain"
        ? await retrainVariant({
            ctx: o.ctx,
            data: o.data,
            spec: specs[t.entry]!,
            schedule: scheduleOf(e)!,
            seed: t.seed,
            calibrationImages: o.calibrationImages,
            progress: o.progress,
          })
        : finetuneVariant(o.ctx, o.data, e.ck, e.file, e.edits, {
            epochs: o.finetuneEpochs,
            batchSize: o.batchSize,
            lr: o.lr,
            seed: t.seed,
            calibrationImages: o.calibrationImages,
            onStep: o.onStep,
          });
    const seconds = (performance.now() - start) / 1000;
    accuracyByKey.set(t.key, accuracy);
    secondsByKey.set(t.key, seconds);
    donePredicted += predicted(t);
    const elapsed = (performance.now() - runStart) / 1000;
    const remainingSeconds = ((totalPredicted - donePredicted) * elapsed) / Math.max(donePredicted, 1e-9);
    o.onTrained?.({ ...ev, accuracy, seconds, remainingSeconds });
  }

  // Per-seed accuracies of every entry (a `same` variant takes its reference's).
  const perSeed: number[][] = [];
  const seconds: number[] = [];
  const refIndex = (mode: ModeName) => plan.entries.findIndex((x) => x.mode === mode && !x.layer);
  plan.entries.forEach((e, entry) => {
    if (e.same) {
      perSeed.push(perSeed[refIndex(e.mode)]!);
      seconds.push(0);
      return;
    }
    const source = method === "retrain" ? "" : e.file;
    const keys = seeds.map((seed) => JSON.stringify([source, specs[entry], scheduleOf(e) ?? null, seed]));
    perSeed.push(keys.map((k) => accuracyByKey.get(k)!));
    seconds.push(keys.reduce((a, k) => a + (owner.get(k) === entry ? secondsByKey.get(k)! : 0), 0));
  });

  const modes: Partial<Record<ModeName, ModeResult>> = {};
  plan.entries.forEach((e, entry) => {
    const stats = accuracyStats(perSeed[entry]!);
    if (!e.layer) {
      const derived = e.mode === "keep-one" && plan.derived;
      modes[e.mode] = {
        checkpoint: e.file,
        reference: { source: derived ? "derived" : "checkpoint", ...stats },
        layers: e.mode === "keep-one" ? plan.keepLayers : plan.floatLayers,
        results: [],
        ...(method === "retrain" ? { schedule: scheduleOf(e) } : {}),
      };
      return;
    }
    const m = modes[e.mode]!;
    const ref = m.reference.perSeed;
    const diff =
      e.mode === "binarize-one" ? pairedDifference(ref, stats.perSeed) : pairedDifference(stats.perSeed, ref);
    m.results.push({
      layer: e.layer.name,
      index: e.layer.layers[0]!.index,
      indices: e.layer.layers.map((w) => w.index),
      bits: e.bits!,
      ...stats,
      delta: diff.mean,
      deltaInterval: diff.low === null || diff.high === null ? null : [diff.low, diff.high],
      beyondNoise: diff.beyondNoise,
      same: e.same,
      seconds: seconds[entry]!,
    });
  });

  return {
    dataset: o.data.name,
    testImages: test.count,
    method,
    seeds,
    intervals: INTERVALS_TEXT,
    ...(method === "finetune"
      ? { finetune: { epochs: o.finetuneEpochs, images: train.count, batchSize: o.batchSize, lr: o.lr } }
      : { retrain: { images: train.count } }),
    calibrationImages: calibration,
    bits: [...o.bits],
    binarizeOne: modes["binarize-one"],
    keepOne: modes["keep-one"],
    variants: plan.entries.length,
    trainings: trainings.length,
    reused,
    seconds: (performance.now() - t0) / 1000,
  };
}

function accuracyStats(values: number[]): AccuracyStats {
  const s = summarize(values);
  return {
    accuracy: s.mean,
    perSeed: values,
    sd: s.sd,
    interval: s.low === null || s.high === null ? null : [s.low, s.high],
  };
}
