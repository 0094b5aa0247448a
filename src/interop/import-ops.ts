/** The ops the importer converts, and the geometry of its pooling nodes. */
import type { PoolSpec } from "./import-fold.js";
import type { Node } from "./import-graph.js";
import { nodePads, paddingOf } from "./import-layout.js";
import { OnnxError } from "./onnx-proto.js";

/** Ops the importer converts (besides those it evaluates on constants). */
export const SUPPORTED_OPS = [
  "Conv",
  "Gemm",
  "MatMul",
  "BatchNormalization",
  "Sign",
  "Where (x >= 0, 1, -1 and Greater/Less variants)",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Neg",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "Flatten",
  "Reshape",
  "Squeeze",
  "Transpose",
  "Relu",
  "Clip",
  "Pad",
  "Softmax",
  "PRelu",
  "Concat (channels)",
  "Add of two activations (residual)",
  "Conv with group = channels (depthwise)",
  "Identity",
  "Dropout",
  "Cast",
  "Shape",
];

/** MaxPool / AveragePool / GlobalAveragePool window, strides and padding for an h x w input. */
/** `extra`: the pads of a Pad node before it, added to the node's own. */
export function poolSpecOf(node: Node, [h, w]: [number, number], where: string, extra?: number[]): PoolSpec {
  const fail: (m: string) => never = (m) => {
    throw new OnnxError(`${where}: ${m}`);
  };
  const global = node.op === "GlobalAveragePool";
  const k = (global ? [h, w] : (node.ints("kernel_shape") ?? [])) as [number, number];
  const s = (global ? [1, 1] : (node.ints("strides") ?? [1, 1])) as [number, number];
  if (k.length !== 2) fail("a 2-D kernel_shape is required");
  if (node.int("ceil_mode", 0) !== 0) fail("ceil_mode = 1 is not supported");
  if ((node.ints("dilations") ?? [1, 1]).some((d) => d !== 1)) fail("dilations are not supported");
  if (node.op === "AveragePool" && node.int("count_include_pad", 0) !== 0)
    fail("count_include_pad = 1 is not supported (the engine averages over in-bounds positions)");
  const own = nodePads(where, node.string("auto_pad", "NOTSET"), node.ints("pads"), [h, w], k, s);
  const pads = extra ? own.map((p, i) => p + extra[i]!) : own;
  return {
    poolSize: k,
    strides: s,
    padding: paddingOf(where, [h, w], k, s, pads),
  };
}
