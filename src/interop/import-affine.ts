/**
 * A per-channel elementwise node as y = x * a + b per channel (engine channel order):
 * Add, Sub (either operand order), Mul, Div (by a constant, as a multiply by its float32
 * reciprocal), Neg, and BatchNormalization in onnxruntime's CPU form,
 * a = scale / sqrt(var + eps), b = B - mean * a, each rounded to float32.
 */
import type { Node } from "./import-graph.js";
import { type Activation, engineShape, perChannel } from "./import-layout.js";
import { OnnxError } from "./onnx-proto.js";
import type { Const } from "./onnx-tensor.js";

export function affineOf(
  node: Node,
  inputs: (Const | undefined)[],
  act: Activation,
  where: string,
): { a: Float64Array; b: Float64Array } {
  const fail: (m: string) => never = (m) => {
    throw new OnnxError(`${where}: ${m}`);
  };
  const shape = engineShape(act);
  const channels = shape[shape.length - 1]!;
  const per = (c: Const | undefined, what: string) => {
    const v = c ? perChannel(c, act) : undefined;
    if (!v) fail(`${what} must be a constant per channel (got [${c?.shape ?? "activation"}])`);
    return v;
  };
  let a: Float64Array = new Float64Array(channels).fill(1);
  let b: Float64Array = new Float64Array(channels);
  const actFirst = node.inputs[0] === act.name;
  const other = inputs[actFirst ? 1 : 0];
  switch (node.op) {
    case "Add":
      b = per(other, "the addend");
      break;
    case "Sub":
      if (actFirst) b = per(other, "the subtrahend").map((v) => -v);
      else {
        a.fill(-1);
        b = per(other, "the minuend");
      }
      break;
    case "Mul":
      a = per(other, "the factor");
      break;
    case "Div":
      if (!actFirst) fail("division by the activation");
      a = per(other, "the divisor").map((v) => Math.fround(1 / v));
      break;
    case "Neg":
      a.fill(-1);
      break;
    case "BatchNormalization": {
      // Its inputs are [C] along ONNX axis 1 (not numpy-broadcast from the right).
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => {
        const c = inputs[i];
        if (c?.data.length !== act.dims[0]) fail(`input ${i} must be a constant of ${act.dims[0]} values`);
        const v = perChannel({ ...c, shape: [c.data.length, ...act.dims.slice(1).map(() => 1)] }, act);
        if (!v) fail("ONNX axis 1 is not the channel axis here");
        return v;
      });
      const eps = node.float("epsilon", 1e-5);
      const fr = Math.fround;
      // onnxruntime's CPU kernel: s = scale / sqrt(var + eps), y = x * s + (B - mean * s).
      a = a.map((_, j) => fr(fr(1 / fr(Math.sqrt(fr(variance[j]! + fr(eps))))) * scale[j]!));
      b = b.map((_, j) => fr(bias[j]! - fr(mean[j]! * a[j]!)));
      break;
    }
  }
  return { a, b };
}
