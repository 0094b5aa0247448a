/**
 * A binary layer whose output transform is not decided yet. Its integer dot x in [-K, K]
 * passes through per-channel monotone ops (the XNOR scale alpha and bias, batch norms and
 * other multiply-adds, Relu, Clip) and max-pools until either a Binarize comes (fold: a
 * threshold per channel, docs/architecture.md) or anything else (flush: an exact affine
 * output and the ops replayed as engine layers).
 *
 * Each multiply-add step is evaluated as onnxruntime computes it in float32:
 * v = fround(fround(v * a) + b) (its BatchNormalization precomputes a and b so).
 * Every step is monotone, so the bit is a step function of x and fold.ts's bisection
 * finds the threshold. A max-pool that sees a channel through a decreasing function pools
 * a minimum: bit pools then need AND, which the engine's max-pool flip provides.
 */

import type { Padding } from "../engine/model.js";
import { thresholdOf, thresholdTransform } from "../export/fold.js";
import { packFlags } from "../kernels/bits.js";
import type { Draft } from "./import-emit.js";
import type { Node } from "./import-graph.js";
import { OnnxError } from "./onnx-proto.js";

const f = Math.fround;

export interface PoolSpec {
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

export type Step =
  | { kind: "affine"; a: Float64Array; b: Float64Array; node: Node }
  | { kind: "relu"; node: Node }
  | { kind: "clip"; lo: number; hi: number; node: Node }
  | { kind: "maxpool"; pool: PoolSpec; node: Node }
  | { kind: "flatten"; node: Node };

export interface Pending {
  /** binary_conv2d / binary_dense without its `output`. */
  draft: Draft;
  k: number;
  outC: number;
  alpha?: Float64Array;
  bias?: Float64Array;
  steps: Step[];
}

/** v after steps [0, upto) for channel j. */
export function channelValue(p: Pending, j: number, x: number, upto = p.steps.length): number {
  let v = x;
  if (p.alpha) v = f(v * p.alpha[j]!);
  if (p.bias) v = f(v + p.bias[j]!);
  for (let s = 0; s < upto; s++) {
    const step = p.steps[s]!;
    if (step.kind === "affine") v = f(f(v * step.a[j]!) + step.b[j]!);
    else if (step.kind === "relu") v = Math.max(v, 0);
    else if (step.kind === "clip") v = Math.min(Math.max(v, step.lo), step.hi);
  }
  return v;
}

export interface FoldResult {
  output: ReturnType<typeof thresholdTransform>;
  /** Engine layers after the binary layer: pools (with flips where needed) and flattens. */
  after: Draft[];
  /** Channels where the ONNX graph's sign gives 0 at an integer x (engine: +1). */
  ternaryChannels: number;
}

/**
 * Thresholds for bit = B(v(x)) with B's value at 0 given by `zero` (+1: v >= 0, -1:
 * v > 0, 0: ONNX Sign, v >= 0 here with the channels where v hits 0 counted).
 */
export function foldPending(p: Pending, zero: number, where: string): FoldResult {
  const thresholds = new Int32Array(p.outC);
  const flip = new Uint8Array(p.outC);
  let ternaryChannels = 0;
  for (let j = 0; j < p.outC; j++) {
    for (const x of [-p.k, p.k]) {
      if (!Number.isFinite(channelValue(p, j, x)))
        throw new OnnxError(`${where}: channel ${j} of the binary layer overflows float32 at x = ${x}`);
    }
    const t = thresholdOf(p.k, (x) => {
      const v = channelValue(p, j, x);
      return zero === -1 ? v > 0 : v >= 0;
    });
    thresholds[j] = t.threshold;
    flip[j] = t.flip ? 1 : 0;
    if (zero === 0) {
      for (const x of [t.threshold - 1, t.threshold]) {
        if (Math.abs(x) <= p.k && channelValue(p, j, x) === 0) {
          ternaryChannels++;
          break;
        }
      }
    }
  }
  const output = thresholdTransform({ thresholds, flip });
  const after: Draft[] = [];
  p.steps.forEach((step, s) => {
    const base = `${step.node.name || step.node.op}#${step.node.index}`;
    if (step.kind === "flatten") after.push({ kind: "flatten", name: base });
    if (step.kind !== "maxpool") return;
    // AND-pool channel j when the pooled quantity decreases with x while the bit
    // increases with it, or the other way round.
    const poolFlip = new Uint8Array(p.outC);
    for (let j = 0; j < p.outC; j++) {
      const decreasing = channelValue(p, j, -p.k, s) > channelValue(p, j, p.k, s);
      poolFlip[j] = flip[j]! ^ (decreasing ? 1 : 0);
    }
    const any = poolFlip.some((v) => v !== 0);
    after.push({
      kind: "maxpool",
      name: base,
      ...step.pool,
      ...(any ? { flip: { dtype: "bits", shape: [p.outC], data: packFlags(poolFlip, 1, p.outC) } } : {}),
    });
  });
  return { output, after, ternaryChannels };
}
