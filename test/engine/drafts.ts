/**
 * Hand-built engine layers for the runtime tests: a chain of drafts gets its activation
 * specs from the converter's own shape rules, and the weight helpers draw random tensors
 * from a seeded Random so every test model is reproducible.
 */
import type { ActivationSpec, Layer } from "../../src/engine/model.js";
import { outputSpec } from "../../src/export/convert-shapes.js";
import { packSigns } from "../../src/kernels/bits.js";
import type { Random } from "../../src/util/random.js";

/** A layer before its activation specs are known. */
export type Draft = { kind: Layer["kind"]; name: string; [key: string]: unknown };

/** The drafts in order, each reading the previous one's output, from a float input. */
export function chain(input: number[], drafts: Draft[]): Layer[] {
  let act: ActivationSpec = { layout: "float", shape: input };
  return drafts.map((d) => {
    const layer = { ...d, in: act } as unknown as Layer;
    layer.out = outputSpec(layer);
    act = layer.out;
    return layer;
  });
}

export const f32 = (shape: number[], data: Float32Array) => ({ dtype: "f32" as const, shape, data });

export const rnd = (rng: Random, n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => rng.normal() * scale);

/** Random signs packed along the last axis. */
export const bits = (rng: Random, shape: number[]) => {
  const c = shape[shape.length - 1]!;
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: "bits" as const, shape, data: packSigns(rnd(rng, n), n / c, c) };
};

/** A threshold output with integer thresholds in [-k/2, k/2) and random flips. */
export const threshold = (rng: Random, c: number, k: number) => ({
  kind: "threshold" as const,
  thresholds: {
    dtype: "i32" as const,
    shape: [c],
    data: Int32Array.from({ length: c }, () => rng.int(k) - (k >> 1)),
  },
  flip: bits(rng, [c]),
});

export const affine = (rng: Random, c: number) => ({
  kind: "affine" as const,
  scale: f32([c], rnd(rng, c, 0.1)),
  bias: f32([c], rnd(rng, c)),
});

/** A batch-norm layer; `meanScale` and `betaScale` set the spread of its mean and beta. */
export const bn = (rng: Random, name: string, c: number, meanScale = 1, betaScale = 1): Draft => ({
  kind: "batchnorm",
  name,
  mean: f32([c], rnd(rng, c, meanScale)),
  invStd: f32(
    [c],
    Float32Array.from({ length: c }, () => 0.5 + rng.next()),
  ),
  gamma: f32([c], rnd(rng, c)),
  beta: f32([c], rnd(rng, c, betaScale)),
});
