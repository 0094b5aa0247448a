/**
 * The walker's binary chain states (see import-convert.ts): binarizations, the pending
 * binary layer and what folds into it (import-fold), its flush into an affine output,
 * bits negated per channel, bits unpacked into floats, and the per-channel affine nodes
 * and monotone activations between layers.
 */
import type { InputLayer } from "../engine/model.js";
import { packFlags, unpackSigns } from "../kernels/bits.js";
import { affineOf } from "./import-affine.js";
import type { Walker } from "./import-convert.js";
import { f32 } from "./import-emit.js";
import { foldPending, type Step } from "./import-fold.js";
import type { Node } from "./import-graph.js";
import type { Const } from "./onnx-tensor.js";

export function binarize(wk: Walker, node: Node): void {
  const zero = node.int("zero", 0);
  if (wk.pad && wk.mode === "float") {
    const v = wk.pad.value;
    wk.pad.value = v > 0 ? 1 : v < 0 ? -1 : zero;
  }
  if (wk.mode === "bits") return;
  if (wk.mode === "pending") {
    const p = wk.pending!;
    const fold = foldPending(p, zero, wk.where(node));
    wk.e.push({ ...p.draft, output: fold.output });
    for (const d of fold.after) wk.e.push(d);
    if (fold.ternaryChannels > 0) {
      wk.warnings.push(
        `${wk.where(node)}: Sign gives 0 at an integer pre-activation in ${fold.ternaryChannels} channel(s); ` +
          "onebit's sign(0) is +1, so images that hit it exactly may score differently",
      );
    }
    wk.pending = undefined;
    wk.mode = "bits";
    return;
  }
  if (zero !== 1) {
    wk.warnings.push(
      `${wk.where(node)}: the graph binarizes exactly 0 to ${zero}, onebit's bitpack to +1 (differs only on exact zeros)`,
    );
  }
  wk.e.push({ kind: "bitpack", name: wk.name(node) });
  const { dims, axes, order } = wk.act;
  wk.probes.push({
    layer: wk.e.layers.at(-1)!.name,
    onnx: node.inputs[0]!,
    zero,
    dims,
    axes,
    ...(order ? { order } : {}),
  });
  wk.mode = "bits";
}

export function monotone(wk: Walker, node: Node, inputs: (Const | undefined)[]): void {
  if (wk.mode === "bits") wk.fail(node, `${node.op} on binary (+/-1) activations`);
  if (node.op === "Relu") {
    if (wk.mode === "pending") wk.pending!.steps.push({ kind: "relu", node });
    else wk.e.push({ kind: "relu", name: wk.name(node) });
    return;
  }
  const lo = wk.graph.opset >= 11 ? (inputs[1]?.data[0] ?? -Infinity) : node.float("min", -Infinity);
  const hi = wk.graph.opset >= 11 ? (inputs[2]?.data[0] ?? Infinity) : node.float("max", Infinity);
  if (wk.mode === "pending") {
    wk.pending!.steps.push({ kind: "clip", lo, hi, node });
    return;
  }
  wk.fail(node, "Clip on float activations has no engine layer unless a binarization follows it");
}

export function perChannelOp(wk: Walker, node: Node, inputs: (Const | undefined)[]): void {
  const { a, b } = affineOf(node, inputs, wk.act, wk.where(node));
  const channels = a.length;
  if (wk.double) {
    // The input layer computes fround(raw * scale + offset) in float64, as this graph does.
    const input = wk.e.layers[0] as InputLayer;
    const expand = (v: number[]) => (v.length === 1 ? new Array<number>(channels).fill(v[0]!) : v);
    input.scale = expand(input.scale).map((v, j) => v * a[j]!);
    input.offset = expand(input.offset).map((v, j) => v * a[j]! + b[j]!);
    return;
  }
  if (wk.mode === "bits") {
    if (a.every((v) => v === 1 || v === -1) && b.every((v) => v === 0)) {
      negateBits(wk, a);
      return;
    }
    unpack(wk, node);
  }
  if (wk.mode === "pending") {
    // Per-feature constants after flattening an image are not per output channel: no fold.
    if (a.length === wk.pending!.outC) {
      wk.pending!.steps.push({ kind: "affine", a, b, node });
      return;
    }
    flush(wk);
  }
  // A bias Add right after a float layer without one is the layer's bias (same float32 sum).
  const last = wk.e.tip();
  if (
    node.op === "Add" &&
    (last?.kind === "float_dense" ||
      last?.kind === "float_conv2d" ||
      last?.kind === "bwn_conv2d" ||
      last?.kind === "bwn_dense") &&
    !last.bias &&
    wk.e.layers.length > 1
  ) {
    last.bias = f32(b);
    return;
  }
  wk.e.affine(wk.name(node), a, b);
}

/** Bits -> +/-1 floats (an engine unpack layer). */
export function unpack(wk: Walker, node: Node): void {
  if (wk.negate) wk.fail(node, "sign-flipped binary channels into a float layer");
  wk.e.push({ kind: "unpack", name: `${wk.name(node)}.unpack` });
  wk.mode = "float";
}

/** Bits times s (+/-1 per channel): into the flips of a threshold layer just emitted, else into `negate`. */
export function negateBits(wk: Walker, s: Float64Array): void {
  const last = wk.e.tip();
  const neg = Uint8Array.from(s, (v) => (v < 0 ? 1 : 0));
  if (
    !wk.negate &&
    (last?.kind === "binary_conv2d" || last?.kind === "binary_dense") &&
    last.output.kind === "threshold"
  ) {
    const flip = last.output.flip;
    const c = neg.length;
    const old = unpackSigns(flip.data, 1, c);
    flip.data = packFlags(
      Array.from(old, (v, j) => (v > 0 ? 1 : 0) ^ neg[j]!),
      1,
      c,
    );
    return;
  }
  const cur = wk.negate ?? new Uint8Array(neg.length);
  wk.negate = cur.map((v, j) => v ^ neg[j]!);
  if (wk.negate.every((v) => v === 0)) wk.negate = undefined;
}

/** Emits the pending binary layer with an exact affine output and replays its steps as float layers. */
export function flush(wk: Walker): void {
  const p = wk.pending!;
  const c = p.outC;
  // The affine transform is fround(fround(x * scale) + bias): it takes the XNOR alpha and
  // bias, or else the first multiply-add steps, with the same rounding.
  let scale = p.alpha;
  let bias = p.bias;
  let used = 0;
  const step = (i: number) => {
    const s = p.steps[i];
    return s?.kind === "affine" ? s : undefined;
  };
  const pureAdd = (i: number) => step(i)?.a.every((v) => v === 1) ?? false;
  const pureMul = (i: number) => step(i)?.b.every((v) => v === 0) ?? false;
  if (!scale && !bias && step(0)) {
    scale = step(0)!.a;
    bias = step(0)!.b;
    used = 1;
    if (pureMul(0) && pureAdd(1)) {
      bias = step(1)!.b;
      used = 2;
    }
  } else if (!bias && pureAdd(0)) {
    bias = step(0)!.b;
    used = 1;
  }
  const output = {
    kind: "affine",
    scale: f32(scale ?? new Float64Array(c).fill(1)),
    bias: f32(bias ?? new Float64Array(c)),
  };
  wk.e.push({ ...p.draft, output });
  wk.pending = undefined;
  wk.mode = "float";
  for (const s of p.steps.slice(used)) replay(wk, s);
}

export function replay(wk: Walker, step: Step): void {
  const name = wk.name(step.node);
  if (step.kind === "affine") wk.e.affine(name, step.a, step.b);
  else if (step.kind === "relu") wk.e.push({ kind: "relu", name });
  else if (step.kind === "maxpool") wk.e.push({ kind: "maxpool", name, ...step.pool });
  else if (step.kind === "flatten") wk.e.push({ kind: "flatten", name });
  else wk.fail(step.node, "Clip on float activations has no engine layer unless a binarization follows it");
}
