/**
 * The checks `train()` runs on its arguments before any work: each unknown key, missing or
 * bad value, and option that does not apply to the chosen schedule or optimizer is an
 * OptionsError naming it ("train: epochs must be a positive integer, got 0"), so a typo
 * or a NaN never trains silently with a default or reports a checkpoint it never wrote.
 * The model itself is checked when it is built (builder options by the builder, a spec by
 * resolveSpec).
 */
import { OptionsError } from "../errors.js";
import type { Context } from "../tensor/context.js";
import {
  booleanOption,
  integerIn,
  numberIn,
  oneOf,
  plainObject,
  positiveInteger,
  positiveNumber,
  rejectUnknownKeys,
  showValue,
} from "../util/options.js";
import { scheduleKinds } from "./schedules.js";
import type { TrainConfig, TrainRun } from "./trainer.js";

const WHERE = "train";

const RUN_KEYS: readonly (keyof TrainRun)[] = [
  "ctx",
  "data",
  "config",
  "outDir",
  "resume",
  "maxEpochsThisRun",
  "progress",
  "onEpoch",
  "signal",
  "xnorForward",
  "teacher",
];

const CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  "model",
  "epochs",
  "batchSize",
  "lr",
  "schedule",
  "decay",
  "stepEpochs",
  "optimizer",
  "momentum",
  "loss",
  "seed",
  "augment",
  "distillation",
  "bnCalibration",
];

const CONFIG_HINTS = {
  batch: "did you mean 'batchSize'?",
  learningRate: "the learning rate is 'lr'",
  epoch: "did you mean 'epochs'?",
  builder: "the builder goes inside 'model': { builder, options }",
  options: "builder options go inside 'model': { builder, options }",
};

/** Refuses a TrainRun (and its config) with an unknown key or a bad value. */
export function checkTrainRun(run: TrainRun): void {
  const r = plainObject(WHERE, "run", run);
  rejectUnknownKeys(WHERE, r, RUN_KEYS);
  const ctx = r.ctx as Partial<Context> | null | undefined;
  if (typeof ctx !== "object" || ctx === null || typeof ctx.tidy !== "function" || !ctx.heap) {
    throw new OptionsError(WHERE, "ctx", "ctx must be a Context (from createContext())");
  }
  const data = plainObject(WHERE, "data", r.data);
  if (typeof data.train !== "object" || typeof data.test !== "object" || !Array.isArray(data.classes)) {
    throw new OptionsError(WHERE, "data", "data must be a data set's splits (from loadDataset())");
  }
  if (r.outDir !== undefined && (typeof r.outDir !== "string" || r.outDir === "")) {
    throw new OptionsError(WHERE, "outDir", `outDir must be a folder name, got ${showValue(r.outDir)}`);
  }
  booleanOption(WHERE, "resume", r.resume);
  positiveInteger(WHERE, "maxEpochsThisRun", r.maxEpochsThisRun);
  oneOf(WHERE, "progress", r.progress, ["auto", "bar", "lines", "quiet"]);
  if (r.onEpoch !== undefined && typeof r.onEpoch !== "function") {
    throw new OptionsError(WHERE, "onEpoch", "onEpoch must be a function");
  }
  if (
    r.signal !== undefined &&
    !(typeof r.signal === "object" && r.signal !== null && "aborted" in r.signal)
  ) {
    throw new OptionsError(WHERE, "signal", "signal must be an AbortSignal");
  }
  booleanOption(WHERE, "xnorForward", r.xnorForward);
  checkTrainConfig(r.config);
}

/** Refuses a TrainConfig with an unknown key, a missing or bad value, or an option that does not apply. */
export function checkTrainConfig(config: unknown): void {
  const c = plainObject(WHERE, "config", config);
  rejectUnknownKeys(WHERE, c, CONFIG_KEYS, CONFIG_HINTS);
  if (typeof c.model !== "object" || c.model === null || Array.isArray(c.model)) {
    throw new OptionsError(
      WHERE,
      "model",
      `model must be a model spec or a builder config ({ builder: "bnn-cnn", options: {} }), got ${showValue(c.model)}`,
    );
  }
  positiveInteger(WHERE, "epochs", c.epochs, { required: true });
  positiveInteger(WHERE, "batchSize", c.batchSize, { required: true });
  positiveNumber(WHERE, "lr", c.lr, { required: true });
  oneOf(WHERE, "schedule", c.schedule, scheduleKinds);
  oneOf(WHERE, "optimizer", c.optimizer, ["adam", "sgd", "bop"]);
  oneOf(WHERE, "loss", c.loss, ["cross-entropy", "squared-hinge"]);
  const schedule = c.schedule ?? "exponential";
  const optimizer = c.optimizer ?? "adam";
  const notFor = (option: string, applies: string, chosen: string) => {
    throw new OptionsError(WHERE, option, `${option} applies to ${applies} only, not to ${chosen}`);
  };
  if (c.decay !== undefined) {
    if (schedule !== "exponential" && schedule !== "step") {
      notFor("decay", "the exponential and step schedules", `the ${String(schedule)} schedule`);
    }
    positiveNumber(WHERE, "decay", c.decay);
  }
  if (c.stepEpochs !== undefined) {
    if (schedule !== "step") notFor("stepEpochs", "the step schedule", `the ${String(schedule)} schedule`);
    positiveInteger(WHERE, "stepEpochs", c.stepEpochs);
  }
  if (c.momentum !== undefined) {
    if (optimizer !== "sgd") notFor("momentum", "the sgd optimizer", String(optimizer));
    numberIn(WHERE, "momentum", c.momentum, 0, 1, { hi: true });
  }
  integerIn(WHERE, "seed", c.seed, 0, Number.MAX_SAFE_INTEGER);
  if (c.bnCalibration !== undefined && c.bnCalibration !== 0)
    positiveInteger(WHERE, "bnCalibration", c.bnCalibration);
  if (c.augment !== undefined) {
    const a = plainObject(WHERE, "augment", c.augment);
    rejectUnknownKeys(`${WHERE}: augment`, a, ["shift", "flip", "fill"]);
    integerIn(WHERE, "augment.shift", a.shift, 0, 64);
    booleanOption(WHERE, "augment.flip", a.flip);
    if (a.fill !== undefined && !(typeof a.fill === "number" && Number.isFinite(a.fill))) {
      throw new OptionsError(
        WHERE,
        "augment.fill",
        `augment.fill must be a finite number, got ${showValue(a.fill)}`,
      );
    }
  }
}
