/**
 * The models of `onebit bench zoo`: the published networks at 224x224x3 as builder configs,
 * with the published figures to print beside them, and the random weights the bench runs.
 */

import { builderSpec } from "../nn/builders.js";
import type { Model } from "../nn/model.js";
import type { ModelSpec } from "../nn/spec.js";
import { Random } from "../util/random.js";
/** A published figure to print beside a measurement. */
export interface Anchor {
  what: string;
  value: number;
  unit: "ms" | "MiB";
}

export interface ZooModel {
  id: string;
  label: string;
  builder: "birealnet" | "reactnet" | "quicknet";
  options: Record<string, unknown>;
  anchors: Anchor[];
}

/**
 * The models (width and stages pinned: the builders' defaults depend on the input size)
 * and their anchors. Latencies: Larq Compute Engine (LCE) on one core, from the
 * larq/compute-engine README; daBNN's figure is the same comparison's. Sizes: Larq Zoo's
 * "Memory" column (binary weights at 1 bit, the rest float32) from larq/zoo's docstrings,
 * which larq's model summary computes in binary units (MiB, 1024 x 1024 bytes) though the
 * column says MB; onebit's sizes beside them are in MiB too.
 */
export const ZOO: readonly ZooModel[] = [
  {
    id: "bireal18",
    label: "Bi-Real-18",
    builder: "birealnet",
    options: { width: 64, stages: [4, 4, 4, 4] },
    anchors: [
      { what: "LCE Pixel 1", value: 41.7, unit: "ms" },
      { what: "daBNN", value: 61.3, unit: "ms" },
      { what: "Larq Zoo", value: 4.03, unit: "MiB" },
    ],
  },
  {
    id: "reactnet",
    label: "ReActNet (Bi-Real-18)",
    builder: "reactnet",
    options: { width: 64, stages: [4, 4, 4, 4] },
    anchors: [],
  },
  {
    id: "quicknet-small",
    label: "QuickNetSmall",
    builder: "quicknet",
    // Larq Zoo's section filters: not a doubling per stage.
    options: { filters: [32, 64, 256, 512], stages: [4, 4, 4, 4] },
    anchors: [{ what: "Larq Zoo", value: 4.0, unit: "MiB" }],
  },
  {
    id: "quicknet",
    label: "QuickNet",
    builder: "quicknet",
    options: { width: 64, stages: [4, 4, 4, 4] },
    anchors: [
      { what: "LCE Pixel 1", value: 25.5, unit: "ms" },
      { what: "LCE RPi 4B", value: 45.0, unit: "ms" },
      { what: "LCE M1", value: 5.8, unit: "ms" },
      { what: "Larq Zoo", value: 4.17, unit: "MiB" },
    ],
  },
  {
    id: "quicknet-large",
    label: "QuickNetLarge",
    builder: "quicknet",
    options: { width: 64, stages: [6, 8, 12, 6] },
    anchors: [{ what: "Larq Zoo", value: 5.4, unit: "MiB" }],
  },
];

/** The model's spec at the bench's input shape and classes. */
export function zooSpec(m: ZooModel, inputShape: number[], classes: number): ModelSpec {
  return builderSpec({ builder: m.builder, options: { ...m.options, inputShape, classes } });
}

/** Random BN statistics and affine parameters, about a third of gammas negative (as the converter tests do). */
export function randomizeStatistics(model: Model, seed: number): void {
  const rng = new Random(seed);
  for (const [name, t] of model.namedTensors()) {
    const d = t.data;
    if (name.endsWith(".runningMean")) for (let i = 0; i < d.length; i++) d[i] = rng.normal() * 3;
    else if (name.endsWith(".runningVar")) for (let i = 0; i < d.length; i++) d[i] = 0.5 + rng.next() * 20;
    else if (name.endsWith(".gamma"))
      for (let i = 0; i < d.length; i++) d[i] = (rng.next() < 0.33 ? -1 : 1) * (0.2 + rng.next());
    else if (name.endsWith(".beta") || name.endsWith(".bias"))
      for (let i = 0; i < d.length; i++) d[i] = rng.normal() * 0.5;
  }
}
