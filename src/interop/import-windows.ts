/**
 * The walker's window layers (see import-convert.ts): Conv, Gemm/MatMul and depthwise
 * convolutions, pools, and Pad nodes, which become the pads and pad value of the conv or
 * max-pool after them. ONNX pads become the engine's 'valid', 'same' or explicit per-side
 * pads (import-layout's paddingOf).
 */
import type { BinaryPadValue, Padding } from "../engine/model.js";
import { MODEL_LIMITS } from "../engine/model-check.js";
import { bwnWeights } from "../export/convert.js";
import { packFlags, packSigns } from "../kernels/bits.js";
import { convGeometry } from "../kernels/geometry.js";
import { flush, unpack } from "./import-chain.js";
import type { Walker } from "./import-convert.js";
import { type Draft, f32 } from "./import-emit.js";
import type { PoolSpec } from "./import-fold.js";
import type { Node } from "./import-graph.js";
import { engineShape, isImage, NCHW, nodePads, paddingOf } from "./import-layout.js";
import { poolSpecOf } from "./import-ops.js";
import { binaryWeights, readWeights } from "./import-weights.js";
import type { Const } from "./onnx-tensor.js";

export function paddedDims(wk: Walker): number[] {
  if (!wk.pad) return wk.act.dims;
  const p = wk.pad.pads;
  const d = [...wk.act.dims];
  d[1] = d[1]! + p[0]! + p[2]!;
  d[2] = d[2]! + p[1]! + p[3]!;
  return d;
}

export function padNode(wk: Walker, node: Node, inputs: (Const | undefined)[]): void {
  if (!isImage(wk.act) || wk.act.axes.join() !== NCHW.join())
    wk.fail(node, "Pad is supported on NCHW images");
  if (node.string("mode", "constant") !== "constant") wk.fail(node, "only constant padding is supported");
  const pads = wk.graph.opset >= 11 ? Array.from(inputs[1]?.data ?? []) : (node.ints("pads") ?? []);
  const value = wk.graph.opset >= 11 ? (inputs[2]?.data[0] ?? 0) : node.float("value", 0);
  // [N, C, H, W] begins then ends: only H and W may be padded.
  if (
    pads.length !== 8 ||
    pads[0] ||
    pads[1] ||
    pads[4] ||
    pads[5] ||
    pads.some((p) => !Number.isInteger(p) || p < 0 || p > MODEL_LIMITS.maxDim)
  )
    wk.fail(node, `pads [${pads}] must pad only height and width, by non-negative integers`);
  const [c, h, w] = wk.act.dims as [number, number, number];
  if (c * (h + pads[2]! + pads[6]!) * (w + pads[3]! + pads[7]!) > MODEL_LIMITS.maxActivationElements)
    wk.fail(
      node,
      `pads [${pads}] make the activation larger than ${MODEL_LIMITS.maxActivationElements} elements`,
    );
  if (!Number.isFinite(value) && value !== Number.NEGATIVE_INFINITY)
    wk.fail(node, `pad value ${value} (only finite values and -inf before a MaxPool are supported)`);
  if (wk.mode === "pending") flush(wk);
  if (wk.mode === "bits" && ![-1, 0, 1].includes(value))
    wk.fail(node, `pad value ${value} on binary activations must be -1, 0 or +1`);
  if (wk.negate && value !== 0) wk.fail(node, "a +/-1 pad value on sign-flipped binary channels");
  if (pads.every((p) => p === 0)) return; // PyTorch writes these before an unpadded AvgPool2d
  wk.pad = { pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], value, node };
}

export function pool(wk: Walker, node: Node): void {
  if (!isImage(wk.act)) wk.fail(node, "pooling needs an image activation");
  let [h, w] = engineShape(wk.act) as [number, number, number];
  const pad = wk.pad;
  wk.pad = undefined;
  if (pad) {
    // A Pad before a MaxPool: values that never win (-inf, or -1 on +/-1 values) are the
    // engine's in-bounds max with the Pad's pads.
    const never = pad.value === Number.NEGATIVE_INFINITY || (wk.mode !== "float" && pad.value === -1);
    if (!never)
      wk.fail(
        node,
        `a Pad (${pad.node.label}) with value ${pad.value} before a MaxPool (the engine's pads never win: -inf)`,
      );
    h -= pad.pads[0]! + pad.pads[2]!;
    w -= pad.pads[1]! + pad.pads[3]!;
  }
  const spec = poolSpecOf(node, [h, w], wk.where(node), pad?.pads);
  const kind = node.op === "MaxPool" ? "maxpool" : "avgpool";
  if (kind === "maxpool" && wk.mode === "pending") {
    wk.pending!.steps.push({ kind: "maxpool", pool: spec, node });
  } else {
    if (wk.mode === "pending") flush(wk);
    if (kind === "avgpool" && wk.mode === "bits") wk.fail(node, "average pooling of binary activations");
    const n = wk.mode === "bits" ? wk.negate : undefined;
    const flip = n ? { flip: { dtype: "bits", shape: [n.length], data: packFlags(n, 1, n.length) } } : {};
    wk.e.push({ kind, name: wk.name(node), ...spec, ...flip });
  }
  const o = wk.e.act.shape;
  const outHW = kind === "maxpool" && wk.mode === "pending" ? pooledHW(h, w, spec) : [o[0]!, o[1]!];
  const dims = wk.act.axes.map((axis, i) => (axis === 2 ? wk.act.dims[i]! : outHW[axis]!));
  wk.act = { ...wk.act, name: node.outputs[0]!, dims };
}

/** Conv with group = channels and one filter per channel: an engine depthwise_conv2d (float). */
export function depthwise(wk: Walker, node: Node, inputs: (Const | undefined)[]): void {
  const w = inputs[1];
  const [c, h, wd] = wk.act.dims as [number, number, number];
  const [kh, kw] = (w?.shape.slice(2) ?? []) as [number, number];
  if (!w || !isImage(wk.act) || wk.act.axes.join() !== NCHW.join() || node.int("group", 1) !== c)
    wk.fail(node, "grouped convolution is supported as depthwise (group = input channels, NCHW)");
  if (w.shape.join() !== [c, 1, kh, kw].join())
    wk.fail(node, `depthwise weights [${w.shape}] must be [${c}, 1, kh, kw] (one filter per channel)`);
  if ((node.ints("dilations") ?? [1, 1]).some((d) => d !== 1)) wk.fail(node, "dilations are not supported");
  const pad = wk.pad;
  wk.pad = undefined;
  if (pad && pad.value !== 0)
    wk.fail(
      node,
      `a Pad (${pad.node.label}) with value ${pad.value} before a depthwise convolution (its padding reads 0)`,
    );
  if (wk.mode === "pending") flush(wk);
  if (wk.mode === "bits") unpack(wk, node);
  const s = (node.ints("strides") ?? [1, 1]) as [number, number];
  const where = wk.where(node);
  const hw: [number, number] = pad
    ? [h - pad.pads[0]! - pad.pads[2]!, wd - pad.pads[1]! - pad.pads[3]!]
    : [h, wd];
  const own = nodePads(where, node.string("auto_pad", "NOTSET"), node.ints("pads"), hw, [kh, kw], s);
  const pads = pad ? own.map((p, i) => p + pad.pads[i]!) : own;
  const bias = inputs[2];
  // [C, 1, kh, kw] -> [kh, kw, C]
  const weights = new Float32Array(c * kh * kw);
  for (let ch = 0; ch < c; ch++)
    for (let k = 0; k < kh * kw; k++) weights[k * c + ch] = w.data[ch * kh * kw + k]!;
  wk.e.push({
    kind: "depthwise_conv2d",
    name: wk.name(node),
    weights: f32(weights, [kh, kw, c]),
    ...(bias ? { bias: f32(bias.data) } : {}),
    strides: s,
    padding: paddingOf(where, hw, [kh, kw], s, pads),
  });
  const [oh, ow] = wk.e.act.shape as [number, number];
  wk.act = { name: node.outputs[0]!, dims: [c, oh, ow], axes: NCHW };
}

export function weightLayer(wk: Walker, node: Node, inputs: (Const | undefined)[]): void {
  if (node.inputs[0] !== wk.act.name) wk.fail(node, "the activation must be the first input");
  if (node.op === "Conv" && node.int("group", 1) !== 1) {
    depthwise(wk, node, inputs);
    return;
  }
  if (wk.mode === "pending") flush(wk);
  const pad = wk.pad;
  wk.pad = undefined;
  const r = readWeights(node, inputs, wk.act, pad, wk.where(node));
  let weights = r.weights;
  const outC = weights.shape[0]!;
  const isConv = node.op === "Conv";
  const draft: Draft = { kind: "float_dense", name: wk.name(node), ...r.geometry };
  if (wk.mode === "bits" && wk.negate) {
    // Negated input channels are negated weight columns.
    const n = wk.negate;
    const c = weights.shape[weights.shape.length - 1]!;
    weights = { ...weights, data: weights.data.map((v, i) => (n[i % c] ? -v : v)) };
    wk.negate = undefined;
  }
  const signs = wk.mode === "bits" ? binaryWeights(weights) : undefined;
  // Binary input with real weights (e.g. a float last layer): +/-1 floats into a float layer.
  if (wk.mode === "bits" && !signs) unpack(wk, node);
  if (signs) {
    const c = weights.shape[weights.shape.length - 1]!;
    draft.kind = isConv ? "binary_conv2d" : "binary_dense";
    draft.weights = {
      dtype: "bits",
      shape: weights.shape,
      data: packSigns(weights.data, weights.data.length / c, c),
    };
    if (isConv) draft.padValue = r.padValue as BinaryPadValue;
    const k = weights.data.length / outC;
    wk.pending = { draft, k, outC, alpha: signs.alpha, bias: r.bias, steps: [] };
    wk.mode = "pending";
  } else {
    // Real input: +/-alpha float32 weights (BWN) are stored as bits and alpha when that is
    // exact and smaller, by the converter's own rule (same layer kinds as a converted model).
    const w32 = Float32Array.from(weights.data);
    const bwn = bwnWeights(w32, weights.shape);
    if (bwn) {
      draft.kind = isConv ? "bwn_conv2d" : "bwn_dense";
      draft.weights = bwn.weights;
      draft.alpha = bwn.alpha;
    } else {
      draft.kind = isConv ? "float_conv2d" : "float_dense";
      draft.weights = f32(w32, weights.shape);
    }
    if (r.bias) draft.bias = f32(r.bias);
    if (isConv) draft.padValue = r.padValue;
    wk.e.push(draft);
  }
  const out = wk.mode === "pending" ? outShapeOf(draft, r.hw, outC) : wk.e.act.shape;
  wk.act = isConv
    ? { name: node.outputs[0]!, dims: [outC, out[0]!, out[1]!], axes: NCHW }
    : { name: node.outputs[0]!, dims: [outC], axes: [0] };
}

function pooledHW(h: number, w: number, s: PoolSpec): [number, number] {
  const g = convGeometry(1, h, w, 1, s.poolSize[0], s.poolSize[1], s.strides[0], s.strides[1], s.padding);
  return [g.outH, g.outW];
}

function outShapeOf(draft: Record<string, unknown>, [h, w]: [number, number], outC: number): number[] {
  if (draft.kind !== "binary_conv2d") return [outC];
  const shape = (draft.weights as { shape: number[] }).shape;
  return pooledHW(h, w, {
    poolSize: [shape[1]!, shape[2]!],
    strides: draft.strides as [number, number],
    padding: draft.padding as Padding,
  });
}
