/**
 * The constant weights of a Conv, Gemm or MatMul node in the engine's order: OHWI for
 * convolutions (from ONNX OIHW), [O, I] for dense layers (from Gemm's B or B^T, or
 * MatMul's [I, O]), with the columns of a dense layer after a flatten permuted to the
 * engine's NHWC flattening; the bias, the convolution geometry (a preceding Pad node's
 * pads and value included), and whether the weights are +/-alpha per output channel.
 */
import type { Padding } from "../engine/model.js";
import { transpose } from "./import-const.js";
import type { Node } from "./import-graph.js";
import { type Activation, isImage, NCHW, nodePads, paddingOf } from "./import-layout.js";
import { OnnxError } from "./onnx-proto.js";
import type { Const } from "./onnx-tensor.js";

export interface WeightLayer {
  /** [O, ...] in engine order. */
  weights: Const;
  bias?: Float64Array;
  /** Convolutions: strides and padding. */
  geometry: { strides?: [number, number]; padding?: Padding };
  /** What out-of-bounds positions read (the Pad node's value, else 0). */
  padValue: number;
  /** Convolutions: the input's height and width before any Pad node. */
  hw: [number, number];
}

export function readWeights(
  node: Node,
  inputs: (Const | undefined)[],
  act: Activation,
  pad: { pads: number[]; value: number } | undefined,
  where: string,
): WeightLayer {
  const fail: (m: string) => never = (m) => {
    throw new OnnxError(`${where}: ${m}`);
  };
  const w = inputs[1];
  if (!w) return fail("the weights must be constant");
  if (node.op === "Conv") {
    if (!isImage(act) || act.axes.join() !== NCHW.join())
      fail(`Conv needs an NCHW image input, got dims [${act.dims}]`);
    if (node.int("group", 1) !== 1) fail("grouped/depthwise convolution is not supported");
    if ((node.ints("dilations") ?? [1, 1]).some((d) => d !== 1)) fail("dilations are not supported");
    const [o, i, kh, kw] = w.shape as [number, number, number, number];
    const [c, h0, w0] = act.dims as [number, number, number];
    if (w.shape.length !== 4 || i !== c) fail(`weights [${w.shape}] do not fit input channels ${c}`);
    const s = (node.ints("strides") ?? [1, 1]) as [number, number];
    let pads = nodePads(where, node.string("auto_pad", "NOTSET"), node.ints("pads"), [h0, w0], [kh, kw], s);
    let hw: [number, number] = [h0, w0];
    let padValue = 0;
    if (pad) {
      if (pads.some((p) => p !== 0)) fail("both a Pad node and Conv pads");
      pads = pad.pads;
      padValue = pad.value;
      hw = [h0 - pads[0]! - pads[2]!, w0 - pads[1]! - pads[3]!];
    }
    const bias = inputs[2] ? Float64Array.from(inputs[2].data) : undefined;
    if (bias && bias.length !== o) fail(`bias of ${bias.length} values for ${o} filters`);
    return {
      weights: transpose(w, [0, 2, 3, 1]),
      ...(bias ? { bias } : {}),
      geometry: { strides: s, padding: paddingOf(where, hw, [kh, kw], s, pads) },
      padValue,
      hw,
    };
  }
  if (isImage(act)) fail(`${node.op} needs a flat input, got dims [${act.dims}] (add a Flatten)`);
  let wt = w;
  let bias: Float64Array | undefined;
  if (node.op === "Gemm") {
    if (w.shape.length !== 2) fail(`Gemm weights must be 2-D, got [${w.shape}]`);
    if (node.int("transA", 0) !== 0) fail("transA = 1 is not supported");
    if (node.float("alpha", 1) !== 1) fail("alpha != 1 is not supported");
    if (node.int("transB", 0) === 0) wt = transpose(w, [1, 0]);
    if (inputs[2]) {
      const beta = node.float("beta", 1);
      bias = Float64Array.from(inputs[2].data, (v) => Math.fround(v * beta));
      if (bias.length === 1) bias = new Float64Array(wt.shape[0]!).fill(bias[0]!);
    }
  } else {
    if (w.shape.length !== 2) fail(`MatMul weights must be 2-D, got [${w.shape}]`);
    wt = transpose(w, [1, 0]);
  }
  const [o, i] = wt.shape as [number, number];
  if (i !== act.dims[0]) fail(`weights [${w.shape}] do not fit ${act.dims[0]} input features`);
  if (bias && bias.length !== o) fail(`bias of ${bias.length} values for ${o} outputs`);
  return {
    weights: permuteColumns(wt, act.order),
    ...(bias ? { bias } : {}),
    geometry: {},
    padValue: 0,
    hw: [0, 0],
  };
}

/** [O, I] with column i moved to order[i]. */
function permuteColumns(w: Const, order: Int32Array | undefined): Const {
  if (!order) return w;
  const [o, i] = w.shape as [number, number];
  const data = new Float64Array(w.data.length);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) data[r * i + order[c]!] = w.data[r * i + c]!;
  return { ...w, data };
}

/** alpha per output channel when every weight of channel o is +/-alpha[o] (alpha > 0); undefined otherwise. */
export function binaryWeights(w: Const): { alpha?: Float64Array } | undefined {
  const outC = w.shape[0]!;
  const per = w.data.length / outC;
  const alpha = new Float64Array(outC);
  for (let o = 0; o < outC; o++) {
    const a = Math.abs(w.data[o * per]!);
    if (!(a > 0)) return undefined;
    for (let i = o * per; i < (o + 1) * per; i++) if (Math.abs(w.data[i]!) !== a) return undefined;
    alpha[o] = a;
  }
  return alpha.every((a) => a === 1) ? {} : { alpha };
}
