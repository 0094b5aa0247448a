/**
 * `onebit train --model NAME|SPEC.json --dataset NAME`: trains a model builder, or a model
 * spec file (src/nn/spec.ts), on a data set, shows progress on stderr, writes
 * OUT/last.ckpt each epoch and prints the result on stdout (one JSON object with --json).
 * `--teacher CKPT` distills from a trained checkpoint (ReActNet's distributional loss, mixed
 * with the label loss by `--kd-weight`, softened by `--kd-temperature`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { DATASET_NAMES, type DatasetName, loadDataset } from "../../data/index.js";
import { type BackendKind, resolveThreads } from "../../kernels/index.js";
import { builderNames, type LayerPrecision, listBuilders } from "../../nn/builders.js";
import { type ModelSpec, ModelSpecError, resolveSpec } from "../../nn/spec.js";
import { createContext } from "../../tensor/index.js";
import {
  type LossName,
  type ScheduleKind,
  scheduleKinds,
  type TrainConfig,
  type TrainResult,
  train,
} from "../../train/index.js";
import { finite, int, nonNegativeInt, positiveInt } from "../args.js";

export interface TrainCliOptions {
  model: string;
  dataset: string;
  dataDir?: string;
  epochs: number;
  batch?: number;
  lr: number;
  schedule: string;
  decay?: number;
  optimizer: string;
  loss: string;
  seed: number;
  out?: string;
  resume: boolean;
  json: boolean;
  width?: number;
  stages?: string;
  float: boolean;
  first?: string;
  last?: string;
  padValue?: number;
  scaling?: string;
  padding?: string;
  limitTrain?: number;
  limitTest?: number;
  augmentShift?: number;
  augmentFlip?: boolean;
  bnCalibration?: number;
  backend: string;
  threads?: number;
  teacher?: string;
  kdWeight?: number;
  kdTemperature?: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The `--json` summary of a run. */
export function trainSummary(model: string, dataset: string, r: TrainResult) {
  return {
    model,
    dataset,
    epochs: r.history.length,
    test_accuracy: r.testAccuracy,
    best_test_accuracy: r.bestTestAccuracy,
    epoch_seconds_median: r.epochSeconds.length ? median(r.epochSeconds) : null,
    samples_per_second: r.samplesPerSecond,
    params: r.params,
  };
}

/** Parses the options, trains, and returns the result (used by `train` and `start`). */
export async function runTrain(o: TrainCliOptions, signal?: AbortSignal): Promise<TrainResult> {
  if (!Number.isSafeInteger(o.epochs) || o.epochs < 1) {
    throw new RangeError(`--epochs must be a positive whole number, got ${String(o.epochs)}`);
  }
  const fromFile = o.model.endsWith(".json");
  const builder = listBuilders().find((b) => b.name === o.model);
  if (!builder && !fromFile) {
    throw new Error(
      `unknown model '${o.model}'; choose one of: ${builderNames().join(", ")}, or a spec file (.json)`,
    );
  }
  if (!DATASET_NAMES.includes(o.dataset as DatasetName)) {
    throw new Error(`unknown dataset '${o.dataset}'; choose one of: ${DATASET_NAMES.join(", ")}`);
  }
  if (!scheduleKinds.includes(o.schedule as ScheduleKind)) {
    throw new Error(`unknown schedule '${o.schedule}'; choose one of: ${scheduleKinds.join(", ")}`);
  }
  if (!["adam", "sgd", "bop"].includes(o.optimizer)) {
    throw new Error(`--optimizer must be adam, sgd or bop, got '${o.optimizer}'`);
  }
  if (o.loss !== "cross-entropy" && o.loss !== "squared-hinge") {
    throw new Error(`--loss must be cross-entropy or squared-hinge, got '${o.loss}'`);
  }
  if ((o.kdWeight !== undefined || o.kdTemperature !== undefined) && o.teacher === undefined) {
    throw new Error("--kd-weight and --kd-temperature need --teacher CHECKPOINT");
  }
  const model = fromFile ? specFile(o.model) : builderConfig(o);
  const data = await loadDataset(o.dataset as DatasetName, {
    dataDir: o.dataDir,
    limitTrain: o.limitTrain,
    limitTest: o.limitTest,
  });
  const ctx = await createContext(o.backend as BackendKind, { threads: await resolveThreads(o.threads) });
  return train({
    ctx,
    data,
    outDir:
      o.out ?? path.join("runs", `${path.basename(o.model, ".json")}${o.float ? "-float" : ""}-${o.dataset}`),
    resume: o.resume,
    signal,
    teacher: o.teacher,
    config: {
      model,
      epochs: o.epochs,
      batchSize: o.batch ?? builder?.batchSize ?? 64,
      lr: o.lr,
      schedule: o.schedule as ScheduleKind,
      decay: o.decay,
      optimizer: o.optimizer as TrainConfig["optimizer"],
      loss: o.loss as LossName,
      seed: o.seed,
      ...(o.bnCalibration ? { bnCalibration: o.bnCalibration } : {}),
      augment:
        o.augmentShift || o.augmentFlip
          ? { shift: o.augmentShift ?? 0, flip: o.augmentFlip ?? false }
          : undefined,
      distillation:
        o.teacher !== undefined ? { weight: o.kdWeight, temperature: o.kdTemperature } : undefined,
    },
  });
}

/** The builder config the command line describes. */
function builderConfig(o: TrainCliOptions): TrainConfig["model"] {
  const residual = ["birealnet", "reactnet", "quicknet"].includes(o.model);
  const options: Record<string, unknown> = { float: o.float };
  if (o.width !== undefined)
    options[o.model === "bnn-mlp" || residual ? "width" : "widthMultiplier"] = o.width;
  if (o.stages !== undefined) {
    if (!residual) throw new Error(`--stages is for birealnet, reactnet and quicknet, not ${o.model}`);
    options.stages = o.stages.split(",").map((v) => Number(v.trim()));
  }
  if (o.first) options.first = o.first as LayerPrecision;
  if (o.last) options.last = o.last as LayerPrecision;
  if (o.padValue !== undefined) options.padValue = o.padValue;
  if (o.scaling !== undefined) options.scaling = o.scaling;
  if (o.padding !== undefined) options.padding = o.padding;
  // The builder name was checked against the list above; its options are checked by train().
  return { builder: o.model, options } as TrainConfig["model"];
}

/** A model spec read from a JSON file, checked (errors name the file, the layer and the shapes). */
function specFile(file: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read the model spec (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelSpecError(`${file}: not JSON (${(e as Error).message})`);
  }
  return resolveSpec(json, file).spec;
}

/** Declares the options shared by `train` and `start`. */
export function trainOptions(cmd: Command, defaults: { epochs: number }): Command {
  return cmd
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--epochs <n>", "total epochs", positiveInt, defaults.epochs)
    .option("--batch <n>", "batch size (default: the model's, 100 MLP / 64 CNN)", positiveInt)
    .option("--lr <x>", "initial learning rate", finite, 1e-3)
    .option("--schedule <kind>", `learning-rate schedule: ${scheduleKinds.join(", ")}`, "exponential")
    .option("--decay <x>", "exponential: factor per epoch (0.9); step: factor per step (0.1)", finite)
    .option(
      "--optimizer <name>",
      "adam, sgd (momentum 0.9) or bop (binary weights; Adam for the rest)",
      "adam",
    )
    .option("--loss <name>", "cross-entropy or squared-hinge", "cross-entropy")
    .option("--seed <n>", "seed of init, shuffling and dropout", nonNegativeInt, 0)
    .option("--out <dir>", "checkpoint folder (default runs/MODEL-DATASET)")
    .option("--resume", "continue from OUT/last.ckpt", false)
    .option("--json", "print one JSON object at the end", false)
    .option(
      "--width <n>",
      "bnn-mlp: hidden units (paper 4096); CNNs: filter multiplier (widthMultiplier); residual nets: first-stage channels",
      finite,
    )
    .option("--stages <list>", "birealnet, reactnet, quicknet: blocks per stage, e.g. 4,4,4,4")
    .option("--float", "train the float twin", false)
    .option("--first <p>", "first weight layer: float, bwn or binary (default float; bnn-mlp: bwn)")
    .option("--last <p>", "last weight layer: float, bwn or binary (default float)")
    .option("--pad-value <v>", "binary conv padding value: -1, 0 or 1", int)
    .option("--padding <p>", "CNN conv padding: valid (default) or same (--pad-value then matters)")
    .option("--scaling <s>", "xnor-cnn: xnor (alpha and K, default) or xnor-weights (alpha only; exportable)")
    .option("--limit-train <n>", "use the first n training images", positiveInt)
    .option("--limit-test <n>", "use the first n test images", positiveInt)
    .option("--augment-shift <n>", "random shifts of up to n pixels during training", nonNegativeInt)
    .option("--augment-flip", "random left-right flips during training (natural images)")
    .option(
      "--bn-calibration <n>",
      "after each epoch, recompute batch-norm statistics on n training images (residual nets need it)",
      int,
    )
    .option(
      "--teacher <ckpt>",
      "distill from this trained checkpoint (e.g. a --float run): ReActNet's loss, the cross-entropy against its softmax",
    )
    .option(
      "--kd-weight <a>",
      "with --teacher: loss = a * distillation + (1 - a) * label loss, a in [0, 1] (default 1)",
      Number.parseFloat,
    )
    .option(
      "--kd-temperature <t>",
      "with --teacher: softmax temperature of teacher and student, loss scaled by t^2 (default 1)",
      Number.parseFloat,
    )
    .option(
      "--backend <name>",
      "wasm (the best build: relaxed SIMD, SIMD or scalar), wasm-relaxed, wasm-simd, wasm-scalar or ref",
      "wasm",
    )
    .option("--threads <n>", "threads for the kernels (default: all cores)", positiveInt);
}

export function printResult(o: { json: boolean; model: string; dataset: string }, r: TrainResult): void {
  if (o.json) {
    process.stdout.write(`${JSON.stringify(trainSummary(o.model, o.dataset, r))}\n`);
    return;
  }
  const s = trainSummary(o.model, o.dataset, r);
  process.stdout.write(
    `${o.model} on ${o.dataset}: test accuracy ${(100 * s.test_accuracy).toFixed(2)}% ` +
      `(best ${(100 * s.best_test_accuracy).toFixed(2)}%) after ${s.epochs} epochs; ` +
      `${s.epoch_seconds_median?.toFixed(1) ?? "-"} s/epoch (median), ${Math.round(s.samples_per_second)} samples/s; ` +
      `params ${s.params.binary} binary, ${s.params.float} float${r.checkpoint ? `; checkpoint ${r.checkpoint}` : ""}\n`,
  );
}

/**
 * Runs `work` with an AbortSignal that the first Ctrl-C (SIGINT) aborts: training then stops
 * after the current epoch's checkpoint. A second Ctrl-C exits at once (code 130), leaving the
 * last complete checkpoint (checkpoints are written atomically).
 */
export async function withCtrlC<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write(
      "\nCtrl-C: stopping after this epoch's checkpoint (Ctrl-C again to quit now; the last checkpoint stays intact)\n",
    );
  };
  process.on("SIGINT", onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export function register(program: Command): void {
  trainOptions(
    program
      .command("train")
      .description("train a model builder, or a model spec file, on a data set")
      .requiredOption("--model <name>", `model builder (${builderNames().join(", ")}) or a spec file (.json)`)
      .requiredOption("--dataset <name>", DATASET_NAMES.join(", ")),
    { epochs: 3 },
  ).action(async (o: TrainCliOptions) => {
    const r = await withCtrlC((signal) => runTrain(o, signal));
    printResult(o, r);
    r.model.dispose();
    if (r.stopped) process.exitCode = 130;
  });
}
