/**
 * What a sensitivity run measures, before any training: each mode's reference and its
 * variants (which checkpoint, which layers at which precision), in run order. A variant
 * that changes nothing (keep-one on a layer the binary model already has at full
 * precision, binarize-one at k bits on a layer already at k bits) is marked `same` and
 * takes its reference's results.
 */
import type { Checkpoint } from "../nn/checkpointFormat.js";
import {
  checkpointLayers,
  isGraphCheckpoint,
  type LayerGroup,
  type PrecisionEdit,
  resolveGroups,
  type WeightLayer,
  weightLayers,
} from "./variant.js";

export type SensitivityMode = "binarize-one" | "keep-one" | "both";
export type ModeName = "binarize-one" | "keep-one";

/** One model to measure: a mode's reference (no `layer`) or one of its variants. */
export interface PlanEntry {
  mode: ModeName;
  label: string;
  ck: Checkpoint;
  file: string;
  /** Every precision edit of the model (the derived binary model's plus the variant's). */
  edits: PrecisionEdit[];
  layer?: LayerGroup;
  bits?: number;
  /** The variant is the reference itself (nothing to change). */
  same: boolean;
}

export interface SensitivityPlan {
  entries: PlanEntry[];
  /** keep-one's reference is the float model with every weight layer binarized. */
  derived: boolean;
  floatLayers: WeightLayer[];
  keepLayers: WeightLayer[];
  keepFile: string;
}

export interface PlanOptions {
  checkpoint: Checkpoint;
  checkpointFile: string;
  binary?: Checkpoint;
  binaryFile?: string;
  mode: SensitivityMode;
  bits: number[];
  layers?: string[];
}

const isFull = (w: WeightLayer) => w.weightBits === 32 && w.inputBits === 32;

/** The entries of a run; refuses a full-precision model for keep-one and unknown layer names. */
export function planSensitivity(o: PlanOptions): SensitivityPlan {
  const doBinarize = o.mode !== "keep-one";
  const doKeep = o.mode !== "binarize-one";
  for (const b of o.bits) {
    if (!Number.isInteger(b) || b < 1 || b > 32) throw new RangeError(`--bits: each must be 1..32, got ${b}`);
  }
  const floatLayers = weightLayers(checkpointLayers(o.checkpoint), isGraphCheckpoint(o.checkpoint));
  const keepCk = o.binary ?? o.checkpoint;
  const keepFile = o.binaryFile ?? o.checkpointFile;
  const keepLayers = weightLayers(checkpointLayers(keepCk), isGraphCheckpoint(keepCk));
  const derived = doKeep && !o.binary && o.mode === "both" && keepLayers.every((l) => l.weightBits === 32);
  if (doKeep && !derived && keepLayers.every(isFull)) {
    throw new Error(
      `${keepFile}: a full-precision model (no quantized weight layer); keep-one needs a binary model: ` +
        "pass a checkpoint trained without --float, --binary FILE, or --mode binarize-one",
    );
  }
  const single = (layers: WeightLayer[]): LayerGroup[] => layers.map((l) => ({ name: l.name, layers: [l] }));
  const pickF = o.layers ? resolveGroups(floatLayers, o.layers, o.checkpointFile) : single(floatLayers);
  const pickK = o.layers ? resolveGroups(keepLayers, o.layers, keepFile) : single(keepLayers);

  const entries: PlanEntry[] = [];
  if (doBinarize) {
    const base = { mode: "binarize-one" as const, ck: o.checkpoint, file: o.checkpointFile, same: false };
    entries.push({ ...base, label: "binarize-one reference", edits: [] });
    for (const l of pickF) {
      for (const bits of o.bits) {
        entries.push({
          ...base,
          label: `${l.name} at ${bits} bit${bits > 1 ? "s" : ""}`,
          edits: l.layers.map((w) => ({ layer: w.index, bits })),
          layer: l,
          bits,
          // Already at k bits (a residual net's binary conv at 1 bit): nothing changes.
          same: l.layers.every((w) => w.weightBits === bits && w.inputBits === bits),
        });
      }
    }
  }
  if (doKeep) {
    const allBinary = derived ? keepLayers.map((l) => ({ layer: l.index, bits: 1 })) : [];
    const base = { mode: "keep-one" as const, ck: keepCk, file: keepFile };
    entries.push({ ...base, label: "keep-one reference", edits: allBinary, same: false });
    for (const l of pickK) {
      const members = l.layers;
      entries.push({
        ...base,
        label: `${l.name} full precision`,
        edits: [
          ...allBinary.filter((e) => !members.some((w) => w.index === e.layer)),
          ...members.map((w) => ({ layer: w.index, bits: 32 })),
        ],
        layer: l,
        bits: 32,
        // Already full precision in the binary model: keeping it so changes nothing.
        same: !derived && members.every(isFull),
      });
    }
  }
  return { entries, derived, floatLayers, keepLayers, keepFile };
}
