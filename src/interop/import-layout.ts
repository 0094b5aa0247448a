/**
 * Where an ONNX activation's elements sit in the engine's layout. The engine keeps one
 * sample as [h, w, c] (NHWC without N) or a vector [n]; an ONNX activation is [N, ...]
 * in whatever order the exporter left it (NCHW for PyTorch). `axes[i]` is the engine axis
 * (0 = h, 1 = w, 2 = c) of ONNX dimension i + 1; a vector that came from flattening an
 * image keeps `order[i]`, the engine index of ONNX feature i, so the dense weights and
 * per-feature constants that follow can be permuted to match.
 */
import type { Padding } from "../engine/model.js";
import { convGeometry } from "../kernels/geometry.js";
import { OnnxError } from "./onnx-proto.js";
import type { Const } from "./onnx-tensor.js";

export interface Activation {
  /** ONNX value name. */
  name: string;
  /** ONNX dims without the batch. */
  dims: number[];
  /** Engine axis of each ONNX dim (images); [0] for vectors. */
  axes: number[];
  /** Vectors flattened from images: engine index of each ONNX feature. */
  order?: Int32Array;
}

export const NCHW = [2, 0, 1];

export function isImage(a: Activation): boolean {
  return a.dims.length === 3;
}

/** The engine's per-sample shape [h, w, c] or [n]. */
export function engineShape(a: Activation): number[] {
  if (!isImage(a)) return [...a.dims];
  const s = [0, 0, 0];
  a.axes.forEach((axis, i) => {
    s[axis] = a.dims[i]!;
  });
  return s;
}

/** The ONNX dim holding channels (images), as an index into dims. */
export function channelDim(a: Activation): number {
  return isImage(a) ? a.axes.indexOf(2) : 0;
}

/**
 * Per-channel values of a constant operand broadcast against the activation: an array of
 * the engine's channel count (features for vectors, in engine order), or undefined when
 * the constant varies along other axes.
 */
export function perChannel(c: Const, a: Activation): Float64Array | undefined {
  const shape = engineShape(a);
  const channels = shape[shape.length - 1]!;
  const full = [1, ...a.dims];
  if (c.shape.length > full.length) return undefined;
  const aligned = [...new Array<number>(full.length - c.shape.length).fill(1), ...c.shape];
  const cd = channelDim(a) + 1;
  for (let i = 0; i < aligned.length; i++)
    if (aligned[i] !== 1 && (i !== cd || aligned[i] !== full[i])) return undefined;
  const out = new Float64Array(channels);
  if (c.data.length === 1) return out.fill(c.data[0]!);
  for (let i = 0; i < channels; i++) out[isImage(a) || !a.order ? i : a.order[i]!] = c.data[i]!;
  return out;
}

/** The engine index of each ONNX feature after flattening `a` (ONNX row-major order). */
export function flattenOrder(a: Activation): Int32Array | undefined {
  if (!isImage(a)) return a.order;
  const [h, w, c] = engineShape(a) as [number, number, number];
  const n = h * w * c;
  const order = new Int32Array(n);
  const [d0, d1, d2] = a.dims as [number, number, number];
  let i = 0;
  const pos = [0, 0, 0];
  for (let x0 = 0; x0 < d0; x0++)
    for (let x1 = 0; x1 < d1; x1++)
      for (let x2 = 0; x2 < d2; x2++) {
        pos[a.axes[0]!] = x0;
        pos[a.axes[1]!] = x1;
        pos[a.axes[2]!] = x2;
        order[i++] = (pos[0]! * w + pos[1]!) * c + pos[2]!;
      }
  return order.every((v, k) => v === k) ? undefined : order;
}

/** TensorFlow's 'same' pads [top, left, bottom, right] for this window. */
function samePads(hw: [number, number], k: [number, number], s: [number, number]): number[] {
  const g = convGeometry(1, hw[0], hw[1], 1, k[0], k[1], s[0], s[1], "same");
  const total = (size: number, kk: number, st: number, out: number) =>
    Math.max((out - 1) * st + kk - size, 0);
  const th = total(hw[0], k[0], s[0], g.outH);
  const tw = total(hw[1], k[1], s[1], g.outW);
  return [g.padTop, g.padLeft, th - g.padTop, tw - g.padLeft];
}

/** The engine padding equal to explicit ONNX pads [top, left, bottom, right], if any. */
export function matchPadding(
  hw: [number, number],
  k: [number, number],
  s: [number, number],
  pads: number[],
): Padding | undefined {
  if (pads.every((p) => p === 0)) return "valid";
  const same = samePads(hw, k, s);
  return pads.every((p, i) => p === same[i]) ? "same" : undefined;
}

/**
 * The engine padding for explicit ONNX pads [top, left, bottom, right] on this window:
 * 'valid' or TensorFlow's 'same' when they are equal to it (so such models are written as
 * before), else the pads themselves (format 2.0's explicit padding, e.g. PyTorch's
 * padding=1 at stride 2 on an even input). Pads the engine cannot take (negative, or not
 * smaller than the window) are an error naming the node.
 */
export function paddingOf(
  where: string,
  hw: [number, number],
  k: [number, number],
  s: [number, number],
  pads: number[],
): Padding {
  const positive = (v: readonly number[]) => v.every((d) => Number.isInteger(d) && d >= 1);
  if (!positive(hw) || !positive(k) || !positive(s) || k.length !== 2 || s.length !== 2) {
    throw new OnnxError(
      `${where}: a ${k.join("x")} window with strides [${s}] on a ${hw.join("x")} input (each must be positive integers)`,
    );
  }
  const p = matchPadding(hw, k, s, pads);
  if (p) return fits(where, hw, k, s, p);
  const ok =
    pads.length === 4 &&
    pads.every((v) => Number.isInteger(v) && v >= 0) &&
    pads[0]! < k[0] &&
    pads[2]! < k[0] &&
    pads[1]! < k[1] &&
    pads[3]! < k[1];
  if (!ok) {
    throw new OnnxError(
      `${where}: pads [${pads}] with a ${k[0]}x${k[1]} window: the engine takes per-side pads from 0 to the window size - 1`,
    );
  }
  const out = [0, 1].map((a) => Math.floor((hw[a]! + pads[a]! + pads[a + 2]! - k[a]!) / s[a]!) + 1);
  if (out.some((d) => d < 1))
    throw new OnnxError(
      `${where}: a ${k[0]}x${k[1]} window with pads [${pads}] does not fit a ${hw[0]}x${hw[1]} input`,
    );
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

/** `padding`, after checking that its window fits the input (an OnnxError naming the node otherwise). */
function fits(
  where: string,
  hw: [number, number],
  k: [number, number],
  s: [number, number],
  padding: Padding,
): Padding {
  try {
    convGeometry(1, hw[0], hw[1], 1, k[0], k[1], s[0], s[1], padding);
  } catch (e) {
    throw new OnnxError(`${where}: ${(e as Error).message.replace(/^convGeometry: /, "")}`);
  }
  return padding;
}

/** ONNX pads [t, l, b, r] of a Conv/Pool node (auto_pad resolved), for an input of h x w. */
export function nodePads(
  where: string,
  autoPad: string,
  pads: number[] | undefined,
  hw: [number, number],
  k: [number, number],
  s: [number, number],
): number[] {
  if (autoPad === "VALID") return [0, 0, 0, 0];
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const g = convGeometry(1, hw[0], hw[1], 1, k[0], k[1], s[0], s[1], "same");
    const th = Math.max((g.outH - 1) * s[0] + k[0] - hw[0], 0);
    const tw = Math.max((g.outW - 1) * s[1] + k[1] - hw[1], 0);
    const upper = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
    return autoPad === "SAME_UPPER" ? upper : [upper[2]!, upper[3]!, upper[0]!, upper[1]!];
  }
  if (autoPad !== "NOTSET" && autoPad !== "")
    throw new OnnxError(`${where}: auto_pad '${autoPad}' is not supported`);
  return pads ?? [0, 0, 0, 0];
}
