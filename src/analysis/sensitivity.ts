/**
 * Per-layer sensitivity to binarization and bit width (the method behind "keep the first
 * and last layers at higher precision"):
 * - binarize-one: from a full-precision model, quantize only layer i (its weights and its
 *   input activations) to k bits, k in `bits`; drop_i(k) = acc(reference) - acc(variant).
 * - keep-one: from a binary model, keep only layer i at full precision;
 *   gain_i = acc(variant) - acc(reference).
 * Every variant, and each mode's reference (the unchanged model), goes through the same
 * steps: optional fine-tune, batch-norm re-estimation (./tune.ts), one test evaluation.
 * Without a binary checkpoint, keep-one starts from the float one with every weight layer
 * binarized and fine-tuned the same way ("derived").
 */
import type { DataSplits } from "../data/index.js";
import type { Checkpoint } from "../nn/checkpointFormat.js";
import type { Context } from "../tensor/context.js";
import { evaluate } from "../train/index.js";
import { finetune, recalibrateBatchNorm } from "./tune.js";
import {
  buildVariant,
  checkpointInputShape,
  checkpointLayers,
  isGraphCheckpoint,
  type LayerGroup,
  type PrecisionEdit,
  resolveGroups,
  variantRecords,
  type WeightLayer,
  weightLayers,
} from "./variant.js";

export type SensitivityMode = "binarize-one" | "keep-one" | "both";

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
  /** Layer names to analyse (conv1, dense2, layers.3); default every weight layer. */
  layers?: string[];
  finetuneEpochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Training images for the batch-norm re-estimation. */
  calibrationImages: number;
  /** Progress: called when a variant starts and after each fine-tune step. */
  onProgress?: (event: {
    variant: string;
    index: number;
    total: number;
    step: number;
    steps: number;
  }) => void;
  /** Called when a variant has been evaluated. */
  onVariant?: (event: {
    variant: string;
    index: number;
    total: number;
    accuracy: number;
    seconds: number;
  }) => void;
}

export interface VariantResult {
  layer: string;
  index: number;
  /** Bit width of the changed layer (32 = kept full precision). */
  bits: number;
  accuracy: number;
  /** binarize-one: reference - accuracy; keep-one: accuracy - reference (gain). */
  delta: number;
  seconds: number;
}

export interface ModeResult {
  checkpoint: string;
  /** "checkpoint" (as stored) or "derived" (keep-one: every layer binarized from the float model). */
  reference: { source: "checkpoint" | "derived"; accuracy: number };
  layers: WeightLayer[];
  results: VariantResult[];
}

export interface SensitivityReport {
  dataset: string;
  testImages: number;
  finetune: { epochs: number; images: number; batchSize: number; lr: number };
  calibrationImages: number;
  bits: number[];
  binarizeOne?: ModeResult;
  keepOne?: ModeResult;
  variants: number;
  seconds: number;
}

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

/** Runs the analysis; see the module doc. */
export function runSensitivity(o: SensitivityOptions): SensitivityReport {
  const t0 = performance.now();
  const doBinarize = o.mode !== "keep-one";
  const doKeep = o.mode !== "binarize-one";
  for (const b of o.bits) {
    if (!Number.isInteger(b) || b < 1 || b > 32) throw new RangeError(`--bits: each must be 1..32, got ${b}`);
  }
  checkInputShape(o.checkpoint, o.checkpointFile, o.data);
  if (o.binary) checkInputShape(o.binary, o.binaryFile ?? "binary checkpoint", o.data);
  const floatLayers = weightLayers(checkpointLayers(o.checkpoint), isGraphCheckpoint(o.checkpoint));
  const keepCk = o.binary ?? o.checkpoint;
  const keepFile = o.binaryFile ?? o.checkpointFile;
  const keepLayers = weightLayers(checkpointLayers(keepCk), isGraphCheckpoint(keepCk));
  const derived = doKeep && !o.binary && o.mode === "both" && keepLayers.every((l) => l.weightBits === 32);
  if (doKeep && !derived && keepLayers.every((l) => l.weightBits === 32 && l.inputBits === 32)) {
    throw new Error(
      `${keepFile}: a full-precision model (no quantized weight layer); keep-one needs a binary model: ` +
        "pass a checkpoint trained without --float, --binary FILE, or --mode binarize-one",
    );
  }
  const single = (layers: WeightLayer[]): LayerGroup[] => layers.map((l) => ({ name: l.name, layers: [l] }));
  const pickF = o.layers ? resolveGroups(floatLayers, o.layers, o.checkpointFile) : single(floatLayers);
  const pickK = o.layers ? resolveGroups(keepLayers, o.layers, keepFile) : single(keepLayers);

  type Job = { label: string; ck: Checkpoint; file: string; base: PrecisionEdit[]; edit: PrecisionEdit[] };
  const jobs: { job: Job; mode: "binarize-one" | "keep-one"; layer?: LayerGroup; bits?: number }[] = [];
  if (doBinarize) {
    const base = {
      label: "binarize-one reference",
      ck: o.checkpoint,
      file: o.checkpointFile,
      base: [],
      edit: [],
    };
    jobs.push({ job: base, mode: "binarize-one" });
    for (const l of pickF) {
      for (const bits of o.bits) {
        jobs.push({
          job: {
            ...base,
            label: `${l.name} at ${bits} bit${bits > 1 ? "s" : ""}`,
            edit: l.layers.map((w) => ({ layer: w.index, bits })),
          },
          mode: "binarize-one",
          layer: l,
          bits,
        });
      }
    }
  }
  if (doKeep) {
    const allBinary = derived ? keepLayers.map((l) => ({ layer: l.index, bits: 1 })) : [];
    const base = { label: "keep-one reference", ck: keepCk, file: keepFile, base: allBinary, edit: [] };
    jobs.push({ job: base, mode: "keep-one" });
    for (const l of pickK) {
      jobs.push({
        job: {
          ...base,
          label: `${l.name} full precision`,
          edit: l.layers.map((w) => ({ layer: w.index, bits: 32 })),
        },
        mode: "keep-one",
        layer: l,
        bits: 32,
      });
    }
  }

  const modes: Record<string, ModeResult> = {};
  jobs.forEach(({ job, mode, layer, bits }, index) => {
    const start = performance.now();
    const members = layer?.layers ?? [];
    const index0 = members[0]?.index ?? -1;
    if (
      mode === "keep-one" &&
      layer &&
      !derived &&
      members.every((w) => w.weightBits === 32 && w.inputBits === 32)
    ) {
      // Already full precision in the binary model: keeping it so changes nothing.
      const m = modes[mode]!;
      m.results.push({
        layer: layer.name,
        index: index0,
        bits: 32,
        accuracy: m.reference.accuracy,
        delta: 0,
        seconds: 0,
      });
      return;
    }
    o.onProgress?.({ variant: job.label, index, total: jobs.length, step: 0, steps: 0 });
    const accuracy = runVariant(
      o,
      job.ck,
      job.file,
      [...job.base.filter((e) => !members.some((w) => w.index === e.layer)), ...job.edit],
      (step, steps) => o.onProgress?.({ variant: job.label, index, total: jobs.length, step, steps }),
    );
    const seconds = (performance.now() - start) / 1000;
    o.onVariant?.({ variant: job.label, index, total: jobs.length, accuracy, seconds });
    if (!layer) {
      modes[mode] = {
        checkpoint: job.file,
        reference: { source: mode === "keep-one" && derived ? "derived" : "checkpoint", accuracy },
        layers: mode === "keep-one" ? keepLayers : floatLayers,
        results: [],
      };
      return;
    }
    const m = modes[mode]!;
    const delta = mode === "binarize-one" ? m.reference.accuracy - accuracy : accuracy - m.reference.accuracy;
    m.results.push({ layer: layer.name, index: index0, bits: bits!, accuracy, delta, seconds });
  });

  return {
    dataset: o.data.name,
    testImages: o.data.test.count,
    finetune: { epochs: o.finetuneEpochs, images: o.data.train.count, batchSize: o.batchSize, lr: o.lr },
    calibrationImages: Math.min(o.calibrationImages, o.data.train.count),
    bits: [...o.bits],
    binarizeOne: modes["binarize-one"],
    keepOne: modes["keep-one"],
    variants: jobs.length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Builds one variant, fine-tunes it, re-estimates batch norm and returns its test accuracy. */
function runVariant(
  o: SensitivityOptions,
  ck: Checkpoint,
  file: string,
  edits: PrecisionEdit[],
  onStep: (step: number, steps: number) => void,
): number {
  const model = buildVariant(
    o.ctx,
    ck,
    variantRecords(checkpointLayers(ck), edits, isGraphCheckpoint(ck)),
    file,
  );
  try {
    const { train, test, preprocessing } = o.data;
    finetune(model, train, preprocessing, {
      epochs: o.finetuneEpochs,
      batchSize: o.batchSize,
      lr: o.lr,
      seed: o.seed,
      onStep,
    });
    recalibrateBatchNorm(model, train, preprocessing, o.calibrationImages);
    return evaluate(model, test, preprocessing).accuracy;
  } finally {
    model.dispose();
  }
}
