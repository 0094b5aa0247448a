/**
 * The training loop: seeded mini-batches, forward in training mode, loss, backward, one
 * optimizer step (binary latent weights clipped to [-1, 1]), an evaluation each epoch, and
 * a checkpoint each epoch (`OUT/last.ckpt`, written atomically) from which `resume`
 * continues exactly: the same seed and data give byte-identical checkpoints whether or not
 * the run was interrupted.
 *
 * Three seeded streams, all derived from `seed` and saved in checkpoints: weight init
 * (seed), batch order/augmentation (seed + 1), dropout and stochastic quantizers (seed + 2).
 *
 * The model is a spec (src/nn/functional.ts builds one from code; a JSON file holds one) or
 * a builder config; the checkpoint stores the resolved spec, so it needs no builder code.
 * With a `teacher` the loss is distilled from it (src/train/distill.ts); the checkpoint
 * records the teacher's content hash, so resume continues only with the same teacher.
 *
 *     const result = await train({ ctx, data, config: { model: { builder: "bnn-mlp", options: { width: 256 } },
 *       epochs: 2, batchSize: 100, lr: 1e-3 } });
 *     result.testAccuracy;
 */
import { existsSync } from "node:fs";
import path from "node:path";
import {
  type Augmentation,
  BatchIterator,
  type BatchState,
  type DataSplits,
  imageSize,
} from "../data/index.js";
import { buildModel, isBuilderConfig, type ModelSource, specOf } from "../nn/build.js";
import { type BuilderConfig, resolveModelConfig } from "../nn/builders.js";
import {
  type Checkpoint,
  loadIntoModel,
  readCheckpoint,
  restoreTensors,
  snapshotTensors,
  writeCheckpoint,
} from "../nn/checkpoint.js";
import type { ForwardMode } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import { type ModelSpec, resolveSpec } from "../nn/spec.js";
import { softmaxCrossEntropy, squaredHinge } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import { Progress, type ProgressMode } from "../util/progress.js";
import { Random } from "../util/random.js";
import { recalibrateBatchNorm } from "./calibrate.js";
import { checkTrainRun } from "./config.js";
import {
  type DistillationConfig,
  distilledLoss,
  prepareTeacher,
  resolveDistillation,
  type Teacher,
  type TeacherRecord,
} from "./distill.js";
import { evaluate } from "./evaluate.js";
import { checkTrainingData, prepareOutDir } from "./guards.js";
import { countCorrect, flipRatio, signSnapshot } from "./metrics.js";
import { divergence } from "./numerics.js";
import { adam, bop, type Optimizer, type Param, sgd } from "./optimizers.js";
import { makeSchedule, type ScheduleKind } from "./schedules.js";

/** The training losses: softmax cross-entropy or BNN's squared hinge. */
export type LossName = "cross-entropy" | "squared-hinge";

/**
 * What to train and how. `train()` checks it first: an unknown key, a missing or bad value
 * (epochs 0, batchSize 1.5, lr NaN, an unknown optimizer) or an option that does not apply
 * (decay with the cosine schedule, momentum without sgd) is an OptionsError naming it.
 */
export interface TrainConfig {
  /** A model spec, or a builder config ({ builder: "bnn-cnn", options }), typed per builder. */
  model: ModelSpec | BuilderConfig;
  /** Total epochs, a positive integer (a resumed run continues up to this many). */
  epochs: number;
  /** Images per step, a positive integer. */
  batchSize: number;
  /** Initial learning rate, a finite number > 0. */
  lr: number;
  /** Default "exponential" with decay 0.9 per epoch (the reference runs' setting). */
  schedule?: ScheduleKind;
  /** exponential: factor per epoch (default 0.9); step: factor per step (default 0.1). Finite, > 0. */
  decay?: number;
  /** step: epochs per step (default 10). */
  stepEpochs?: number;
  /** adam (default), sgd (momentum) or bop (binary weights flipped by Bop, Adam for the rest). */
  optimizer?: "adam" | "sgd" | "bop";
  /** sgd: momentum in [0, 1) (default 0.9). */
  momentum?: number;
  loss?: LossName;
  /** A non-negative integer (default 0). */
  seed?: number;
  /** Training-time augmentation (random shifts; flips for natural images). Default none. */
  augment?: Augmentation;
  /**
   * After each epoch, recompute every batch norm's statistics in eval mode on the first
   * this many training images (src/train/calibrate.ts) before the test and the checkpoint.
   * Residual BNNs need it: their running averages trail the flipping binary weights. Default 0 (off).
   */
  bnCalibration?: number;
  /** Distillation from `TrainRun.teacher` (src/train/distill.ts): KD weight and temperature. */
  distillation?: DistillationConfig;
}

/**
 * What `train()` takes: the context, the data, the training config, where to checkpoint, and
 * how to report.
 */
export interface TrainRun {
  ctx: Context;
  data: DataSplits;
  config: TrainConfig;
  /** Folder for `last.ckpt`; no checkpoints when unset. */
  outDir?: string;
  /** Continue from OUT/last.ckpt when it exists. */
  resume?: boolean;
  /** Stop after this many epochs of this run (to test resume); default: run to `epochs`. */
  maxEpochsThisRun?: number;
  progress?: ProgressMode;
  /** Called after each epoch's evaluation and checkpoint with that epoch's record. */
  onEpoch?: (record: EpochRecord) => void;
  /** Once aborted (the CLI's Ctrl-C), training stops after the current epoch's checkpoint. */
  signal?: AbortSignal;
  /** Binary layers on the XOR-popcount and sign-GEMM kernels (default true); false: float ops. */
  xnorForward?: boolean;
  /**
   * A teacher to distill from (ReActNet's distributional loss): a checkpoint file or a Model
   * on `ctx`. It runs in eval mode on each training batch; `config.distillation` mixes its
   * loss with the label loss. Resuming a distilled run needs the same teacher again.
   */
  teacher?: string | Model;
}

/** One epoch's figures, as `train()` records them in `history` and checkpoints. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  /** The training objective (with a teacher: the distilled loss). */
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Fraction of binary weights whose sign changed during the epoch. */
  flipRatio: number;
}

/** What `train()` returns: the trained model, the history and the figures of the run. */
export interface TrainResult {
  model: Model;
  history: EpochRecord[];
  /** Test accuracy after the last epoch. */
  testAccuracy: number;
  bestTestAccuracy: number;
  /** Wall-clock seconds of each epoch's training pass in this run (evaluation excluded). */
  epochSeconds: number[];
  /** Training samples per second over this run. */
  samplesPerSecond: number;
  params: { binary: number; float: number };
  checkpoint?: string;
  /** True when `signal` stopped the run before its last epoch. */
  stopped: boolean;
}

/** The checkpoint file `train()` writes in its `outDir` each epoch. */
export const CHECKPOINT_FILE = "last.ckpt";

interface SavedState {
  /** The training settings (the model is the checkpoint's spec). */
  train: Omit<TrainConfig, "model">;
  dataset: string;
  history: EpochRecord[];
  rng: number[];
  batches: BatchState;
  optimizer: Record<string, number>;
  /** The teacher the run is distilled from. */
  teacher?: TeacherRecord;
}

/**
 * Trains a model (docs/architecture.md, "From a model spec to the engine"): seeded batches,
 * forward, loss, backward, one optimizer step per batch; an evaluation and an atomic checkpoint
 * `OUT/last.ckpt` each epoch; resumable bit for bit. Options are checked first (OptionsError);
 * a NaN or Inf loss stops with a TrainingDivergedError.
 */
export async function train(run: TrainRun): Promise<TrainResult> {
  checkTrainRun(run);
  const { ctx, data } = run;
  let config: TrainConfig = { ...run.config };
  const ckFile = run.outDir ? path.join(run.outDir, CHECKPOINT_FILE) : undefined;
  const ck = run.resume && ckFile && existsSync(ckFile) ? await readCheckpoint(ckFile) : undefined;
  const saved = ck?.state as SavedState | undefined;
  if (ck && saved) {
    if (saved.dataset !== data.name) {
      throw new Error(`${ckFile}: trained on '${saved.dataset}', cannot resume on '${data.name}'`);
    }
    checkSameModel(ck, run.config.model, data, ckFile!);
    config = { ...saved.train, model: run.config.model, epochs: run.config.epochs };
  }
  const seed = config.seed ?? 0;
  const model = buildModel(ctx, ck?.spec ?? modelFor(config.model, data), new Random(seed));
  // The builder config the model came from, kept in checkpoints beside the spec.
  const origin = ck ? ck.model : model.origin;
  const outputs = modelOutputs(model);
  if (outputs !== data.classes.length) {
    throw new Error(
      `model '${model.name}': its output has ${outputs} values, the ${data.name} data set has ${data.classes.length} classes`,
    );
  }
  checkTrainingData(data, model.inputShape, ck ? ckFile : undefined);
  let distillation: Required<DistillationConfig> | undefined;
  let teacher: Teacher | undefined;
  try {
    if (run.teacher !== undefined) distillation = resolveDistillation(config.distillation);
    teacher = await prepareTeacher(
      ctx,
      run.teacher,
      data,
      ck && saved ? { checkpoint: ckFile!, teacher: saved.teacher } : undefined,
      run.xnorForward,
    );
    if (!teacher && config.distillation) {
      throw new Error("distillation settings (weight, temperature) need a teacher to distill from");
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (distillation) config = { ...config, distillation };
  const distill = teacher && distillation ? { teacher, settings: distillation } : undefined;
  const params = model.params();
  const opt = makeOptimizer(ctx, params, config);
  const batches = new BatchIterator(data.train, {
    batchSize: config.batchSize,
    seed: seed + 1,
    preprocessing: data.preprocessing,
    augment: config.augment,
  });
  const rng = new Random(seed + 2);
  let history: EpochRecord[] = [];
  if (ck && saved) {
    loadIntoModel(model, ck, ckFile);
    restoreTensors(opt.stateTensors(), ck.tensors, ckFile!);
    opt.setScalarState(saved.optimizer);
    rng.setState(saved.rng);
    batches.setState(saved.batches);
    history = saved.history;
  }
  const schedule = makeSchedule({
    kind: config.schedule ?? "exponential",
    lr: config.lr,
    decay: config.decay,
    stepEpochs: config.stepEpochs,
    epochs: config.epochs,
  });
  const progress = new Progress({ mode: run.progress ?? "auto" });
  const size = imageSize(data.train);
  const x = new Float32Array(config.batchSize * size);
  const y = new Int32Array(config.batchSize);
  const epochSeconds: number[] = [];
  let samples = 0;
  const lastEpoch = Math.min(
    config.epochs,
    history.length + (run.maxEpochsThisRun ?? Number.POSITIVE_INFINITY),
  );
  if (ckFile) prepareOutDir(run.outDir!);
  let stopped = false;

  for (let epoch = history.length + 1; epoch <= lastEpoch; epoch++) {
    if (run.signal?.aborted) {
      stopped = true;
      break;
    }
    const lr = schedule(epoch - 1);
    const signsBefore = signSnapshot(params);
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let step = 0;
    progress.begin(`epoch ${epoch}/${config.epochs}`, batches.batchesPerEpoch);
    for (const n of batches.epochBatches(x, y)) {
      const labels = y.subarray(0, n);
      const mode = { training: true, rng, xnorForward: run.xnorForward };
      const { loss, right } = trainStep(
        model,
        x.subarray(0, n * size),
        labels,
        n,
        opt,
        lr,
        mode,
        config.loss,
        { epoch, step: step + 1, checkpoint: ckFile },
        distill,
      );
      lossSum += loss * n;
      correct += right;
      seen += n;
      step++;
      const rate = seen / ((performance.now() - t0) / 1000);
      progress.update(step, { loss: lossSum / seen, acc: correct / seen, "samples/s": Math.round(rate) });
    }
    const seconds = (performance.now() - t0) / 1000;
    epochSeconds.push(seconds);
    samples += seen;
    const flips = flipRatio(params, signsBefore);
    if (config.bnCalibration)
      recalibrateBatchNorm(model, data.train, data.preprocessing, config.bnCalibration);
    const test = evaluate(model, data.test, data.preprocessing);
    const record: EpochRecord = {
      epoch,
      lr,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      flipRatio: flips,
    };
    history.push(record);
    const best = Math.max(...history.map((h) => h.testAccuracy));
    progress.end({ test_acc: test.accuracy, best_acc: best, flips });
    run.onEpoch?.(record);
    if (ckFile) {
      const { model: _model, ...train } = config;
      const state: SavedState = {
        train,
        dataset: data.name,
        history,
        rng: rng.state,
        batches: batches.state,
        optimizer: opt.scalarState(),
        ...(teacher ? { teacher: teacher.record } : {}),
      };
      const tensors = snapshotTensors(new Map([...model.namedTensors(), ...opt.stateTensors()]));
      await writeCheckpoint(ckFile, {
        spec: model.spec,
        ...(origin ? { model: origin } : {}),
        epoch,
        state: state as never,
        tensors,
      });
    }
  }
  opt.dispose();
  teacher?.dispose();
  const accs = history.map((h) => h.testAccuracy);
  const trainSeconds = epochSeconds.reduce((a, b) => a + b, 0);
  return {
    model,
    history,
    testAccuracy: accs[accs.length - 1] ?? Number.NaN,
    bestTestAccuracy: accs.length ? Math.max(...accs) : Number.NaN,
    epochSeconds,
    samplesPerSecond: trainSeconds > 0 ? samples / trainSeconds : 0,
    params: model.paramCounts(),
    // Only a file that exists: a run stopped before its first epoch wrote none.
    checkpoint: ckFile && existsSync(ckFile) ? ckFile : undefined,
    stopped,
  };
}

function makeOptimizer(ctx: Context, params: Param[], config: TrainConfig): Optimizer {
  switch (config.optimizer ?? "adam") {
    case "adam":
      return adam(ctx, params);
    case "sgd":
      return sgd(ctx, params, { momentum: config.momentum ?? 0.9 });
    case "bop":
      return bop(ctx, params);
    default:
      throw new RangeError(`unknown optimizer '${config.optimizer}'; choose adam, sgd or bop`);
  }
}

/** One optimizer step on a batch; returns the mean loss and the number of correct predictions. */
function trainStep(
  model: Model,
  x: Float32Array,
  labels: Int32Array,
  n: number,
  opt: Optimizer,
  lr: number,
  mode: ForwardMode,
  lossName: LossName = "cross-entropy",
  at: { epoch: number; step: number; checkpoint?: string } = { epoch: 0, step: 0 },
  distill?: { teacher: Teacher; settings: Required<DistillationConfig> },
): { loss: number; right: number } {
  const ctx = model.ctx;
  return ctx.tidy(() => {
    const input = ctx.fromArray(x, [n, ...model.inputShape]);
    const logits = model.forward(input, mode);
    const classes = logits.shape[1]!;
    const labelLoss = () =>
      lossName === "squared-hinge"
        ? squaredHinge(logits, hingeTargets(ctx, labels, classes))
        : softmaxCrossEntropy(logits, labels);
    const loss = distill
      ? distilledLoss(logits, distill.teacher.logits(x, n), labelLoss, distill.settings)
      : labelLoss();
    // A NaN/Inf loss stops training before this step touches the weights.
    const value = loss.item();
    if (!Number.isFinite(value)) throw divergence(model, input, mode, { ...at, loss: value });
    for (const p of model.params()) p.tensor.zeroGrad();
    loss.backward();
    ctx.noGrad(() => opt.step(lr));
    return { loss: value, right: countCorrect(logits.data, labels, n, classes) };
  });
}

/** One-hot targets in {-1, +1} for the squared hinge loss. */
function hingeTargets(ctx: Context, labels: Int32Array, classes: number): Tensor {
  const t = new Float32Array(labels.length * classes).fill(-1);
  for (let r = 0; r < labels.length; r++) t[r * classes + labels[r]!] = 1;
  return ctx.fromArray(t, [labels.length, classes]);
}

/** A builder config completed from the data set (input shape, classes), or the spec as given. */
function modelFor(m: ModelSource, data: DataSplits): ModelSource {
  if (!isBuilderConfig(m)) return m;
  return resolveModelConfig({
    builder: m.builder,
    options: {
      ...m.options,
      inputShape: [data.train.height, data.train.width, data.train.channels],
      classes: data.classes.length,
    },
  });
}

/** The number of class scores a model outputs (the size of its output per image). */
function modelOutputs(model: Model): number {
  const shape = resolveSpec(model.spec).shapes.get(model.spec.outputs[0]!)!;
  return shape.reduce((a, b) => a * b, 1);
}

/** A resumed run must train the model its checkpoint holds. */
function checkSameModel(ck: Checkpoint, asked: ModelSource, data: DataSplits, file: string): void {
  if (isBuilderConfig(asked)) {
    const held = ck.model?.builder ?? `a model written as code ('${ck.spec.name}')`;
    if (ck.model?.builder !== asked.builder) {
      throw new Error(
        `${file}: holds ${ck.model ? `a '${held}' model` : held}, cannot resume it as '${asked.builder}'`,
      );
    }
    return;
  }
  const want = JSON.stringify(specOf(modelFor(asked, data), "the given model spec").spec.layers);
  if (JSON.stringify(ck.spec.layers) !== want) {
    throw new Error(`${file}: holds another model ('${ck.spec.name}') than the spec given; cannot resume it`);
  }
}
