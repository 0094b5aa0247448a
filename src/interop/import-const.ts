/**
 * Evaluation of ONNX ops on constants (initializers, Constant nodes, and shape tensors
 * whose batch entry is NaN), as ONNX defines them, with numpy broadcasting and float32
 * rounding of float results. The importer uses it to fold what exporters leave in the
 * graph: sign(W) on latent weights, transposes of weights, XNOR scales, and the
 * Shape -> Gather -> Concat -> Reshape chains of `x.view(x.size(0), -1)`.
 *
 * A shape read from an activation has NaN for its batch entry. Two ops give stand-ins on
 * such shapes, exact wherever the result is broadcast against that activation (the only
 * way PyTorch's exports use them): ConstantOfShape (`torch.ones_like(x)`) gives its fill
 * value as a scalar, and Expand (`bias.expand_as(x)`) gives its input unchanged. Results
 * are limited to MAX_CONST_ELEMENTS elements each and, with a budget (the graph's
 * constBudget), in total, so that a hostile file cannot make the importer allocate without
 * bound.
 */

import type { Node } from "./import-graph.js";
import { OnnxError } from "./onnx-proto.js";
import { type Const, type ElemKind, readTensor, sizeOf } from "./onnx-tensor.js";

const f = Math.fround;

/** The most elements a constant computed at import may have (2^24: 128 MiB of float64). */
export const MAX_CONST_ELEMENTS = 1 << 24;

/** The elements a constant computation may still allocate (see ImportGraph.constBudget). */
let budget: { left: number } = { left: Number.POSITIVE_INFINITY };

function limit(shape: readonly number[], where: string): number {
  const n = sizeOf(shape);
  if (!(n <= MAX_CONST_ELEMENTS) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new OnnxError(
      `${where}: a constant of shape [${shape}] (more than ${MAX_CONST_ELEMENTS} elements, or not a shape) is not supported`,
    );
  }
  if (n > budget.left) {
    throw new OnnxError(
      `${where}: computing a constant of shape [${shape}] exceeds what the file's own constants justify (constant folding stops at 8 times their size)`,
    );
  }
  budget.left -= n;
  return n;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** numpy broadcast of several shapes. */
export function broadcastShape(shapes: number[][], where: string): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1 && d !== 1 && v !== d)
        throw new OnnxError(`${where}: shapes ${shapes.map((x) => `[${x}]`).join(", ")} do not broadcast`);
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** Elementwise map over broadcast inputs. */
export function elementwise(
  inputs: Const[],
  kind: ElemKind,
  fn: (...v: number[]) => number,
  where: string,
): Const {
  const shape = broadcastShape(
    inputs.map((c) => c.shape),
    where,
  );
  const n = limit(shape, where);
  const outStrides = stridesOf(shape);
  const maps = inputs.map((c) => {
    const st = stridesOf(c.shape);
    const off = shape.length - c.shape.length;
    return shape.map((_, i) => (i < off || c.shape[i - off] === 1 ? 0 : st[i - off]!));
  });
  const data = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) {
      let idx = 0;
      let rest = i;
      for (let a = 0; a < shape.length; a++) {
        const q = Math.floor(rest / outStrides[a]!);
        rest -= q * outStrides[a]!;
        idx += q * maps[k]![a]!;
      }
      args[k] = inputs[k]!.data[idx]!;
    }
    const v = fn(...args);
    data[i] = kind === "float" ? f(v) : v;
  }
  return { kind, shape, data };
}

export function transpose(c: Const, perm: number[]): Const {
  if (perm.length !== c.shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw new OnnxError(`perm [${perm}] is not a permutation of the ${c.shape.length} axes`);
  const shape = perm.map((p) => c.shape[p]!);
  const inStrides = stridesOf(c.shape);
  const outStrides = stridesOf(shape);
  const data = new Float64Array(c.data.length);
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let src = 0;
    for (let a = 0; a < shape.length; a++) {
      const q = Math.floor(rest / outStrides[a]!);
      rest -= q * outStrides[a]!;
      src += q * inStrides[perm[a]!]!;
    }
    data[i] = c.data[src]!;
  }
  return { kind: c.kind, shape, data };
}

/** ONNX Reshape target: 0 copies the input dimension, -1 is inferred. */
export function reshapeTarget(inShape: number[], target: number[], where: string): number[] {
  const out = target.map((d, i) => (d === 0 ? inShape[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(inShape);
  const free = out.filter((d) => d === -1).length;
  if (free > 1) throw new OnnxError(`${where}: more than one -1 in the target shape [${target}]`);
  if (free === 1) out[out.indexOf(-1)] = total / known;
  if (sizeOf(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0))
    throw new OnnxError(`${where}: cannot reshape [${inShape}] to [${target}]`);
  return out;
}

/** Axis `a` of a rank-`rank` tensor (negative counts from the end); out of range is an error. */
function axisOf(a: number, rank: number): number {
  const axis = a < 0 ? a + rank : a;
  if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(rank, 1))
    throw new OnnxError(`axis ${a} is out of range for rank ${rank}`);
  return axis;
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Greater: (a, b) => (a > b ? 1 : 0),
  GreaterOrEqual: (a, b) => (a >= b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  LessOrEqual: (a, b) => (a <= b ? 1 : 0),
  Equal: (a, b) => (a === b ? 1 : 0),
  Pow: (a, b) => a ** b,
};

const UNARY: Record<string, (a: number) => number> = {
  Neg: (a) => -a,
  Abs: Math.abs,
  Sign: (a) => Math.sign(a) + 0,
  Sqrt: Math.sqrt,
  Reciprocal: (a) => 1 / a,
  Not: (a) => (a ? 0 : 1),
};

/** The ops evalConst knows (besides Binarize, the importer's own). */
export const CONST_OPS = [
  ...Object.keys(BINARY),
  ...Object.keys(UNARY),
  "Identity",
  "Cast",
  "Where",
  "Clip",
  "Transpose",
  "Reshape",
  "Flatten",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Gather",
  "ReduceMean",
  "Shape",
  "ConstantOfShape",
  "Expand",
  "Slice",
];

/**
 * Evaluates `node` on constant inputs. The graph's `opset` selects the input-vs-attribute
 * forms (Clip, Unsqueeze, Squeeze, ReduceMean), its `constBudget` bounds what may be
 * allocated, its `file` prefixes errors. Returns undefined for ops it does not know.
 */
export function evalConst(
  node: Node,
  inputs: (Const | undefined)[],
  graph: { opset: number; file?: string; constBudget?: { left: number } },
): Const | undefined {
  const outer = budget;
  budget = graph.constBudget ?? { left: Number.POSITIVE_INFINITY };
  const file = graph.file ? `${graph.file}: ` : "";
  try {
    return evalNode(node, inputs, graph.opset);
  } catch (e) {
    const message = (e as Error).message;
    if (e instanceof OnnxError) {
      const named = message.includes(node.label) ? message : `${node.label}: ${message}`;
      throw new OnnxError(named.startsWith(file) ? named : `${file}${named}`);
    }
    // A node missing an input or with inputs of the wrong rank for its op.
    throw new OnnxError(
      `${file}${node.label}: cannot evaluate '${node.op}' on its constant inputs (${message})`,
    );
  } finally {
    budget = outer;
  }
}

function evalNode(node: Node, inputs: (Const | undefined)[], opset: number): Const | undefined {
  const where = node.label;
  const x = inputs[0]!;
  const isFloat = inputs.some((c) => c?.kind === "float" || c?.kind === "double");
  const numKind: ElemKind = inputs.some((c) => c?.kind === "double") ? "double" : isFloat ? "float" : "int";
  if (node.op in BINARY) {
    const cmp = /Greater|Less|Equal/.test(node.op);
    let fn = BINARY[node.op]!;
    if (node.op === "Div" && !isFloat) fn = (a, b) => Math.trunc(a / b);
    return elementwise([x, inputs[1]!], cmp ? "bool" : numKind, fn, where);
  }
  if (node.op in UNARY) return elementwise([x], node.op === "Not" ? "bool" : x.kind, UNARY[node.op]!, where);
  switch (node.op) {
    case "Identity":
      return x;
    case "Binarize": {
      const zero = node.int("zero", 1);
      return elementwise([x], "float", (v) => (v > 0 ? 1 : v < 0 ? -1 : zero), where);
    }
    case "Cast": {
      const to = node.int("to", 1);
      const kind: ElemKind =
        to === 11 ? "double" : to === 1 || to === 10 ? "float" : to === 9 ? "bool" : "int";
      return elementwise(
        [x],
        kind,
        (v) => (kind === "bool" ? (v ? 1 : 0) : kind === "int" ? Math.trunc(v) : v),
        where,
      );
    }
    case "Where":
      return elementwise([x, inputs[1]!, inputs[2]!], inputs[1]!.kind, (c, a, b) => (c ? a : b), where);
    case "Clip": {
      const lo = opset >= 11 ? inputs[1]?.data[0] : node.float("min", Number.NEGATIVE_INFINITY);
      const hi = opset >= 11 ? inputs[2]?.data[0] : node.float("max", Number.POSITIVE_INFINITY);
      return elementwise([x], x.kind, (v) => Math.min(Math.max(v, lo ?? -Infinity), hi ?? Infinity), where);
    }
    case "Transpose": {
      const perm = node.ints("perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return transpose(x, perm);
    }
    case "Reshape":
      return { ...x, shape: reshapeTarget(x.shape, Array.from(inputs[1]!.data), where) };
    case "Flatten": {
      const axis = axisOf(node.int("axis", 1), x.shape.length);
      return { ...x, shape: [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))] };
    }
    case "Unsqueeze": {
      const axes = opset >= 13 ? Array.from(inputs[1]!.data) : (node.ints("axes") ?? []);
      const rank = x.shape.length + axes.length;
      const set = new Set(axes.map((a) => axisOf(a, rank)));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x.shape[k++]!);
      return { ...x, shape };
    }
    case "Squeeze": {
      const axes = opset >= 13 ? (inputs[1] ? Array.from(inputs[1].data) : undefined) : node.ints("axes");
      const set = new Set(
        (axes ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, x.shape.length)),
      );
      return { ...x, shape: x.shape.filter((_, i) => !set.has(i)) };
    }
    case "Concat": {
      const axis = axisOf(node.int("axis", 0), x.shape.length);
      if (axis !== 0 || inputs.some((c) => c!.shape.length !== 1)) return undefined;
      const data = Float64Array.from(inputs.flatMap((c) => Array.from(c!.data)));
      return { kind: x.kind, shape: [data.length], data };
    }
    case "Gather": {
      const idx = inputs[1]!;
      if (node.int("axis", 0) !== 0 || x.shape.length !== 1) return undefined;
      const data = Float64Array.from(idx.data, (i) => x.data[i < 0 ? i + x.data.length : i]!);
      return { kind: x.kind, shape: idx.shape, data };
    }
    case "Shape":
      return { kind: "int", shape: [x.shape.length], data: Float64Array.from(x.shape) };
    case "ConstantOfShape": {
      const t = node.attrs.get("value")?.t;
      const v = t ? readTensor(t, where) : { kind: "float" as const, data: Float64Array.of(0) };
      const shape = Array.from(x.data);
      // ones_like(activation): the fill value, broadcast wherever it is used.
      if (shape.some(Number.isNaN)) return { kind: v.kind, shape: [], data: Float64Array.of(v.data[0] ?? 0) };
      return { kind: v.kind, shape, data: new Float64Array(limit(shape, where)).fill(v.data[0] ?? 0) };
    }
    case "Expand": {
      const target = Array.from(inputs[1]!.data);
      // expand_as(activation): the input itself, broadcast wherever it is used.
      const shape = broadcastShape([x.shape, target.map((d) => (Number.isNaN(d) ? 1 : d))], where);
      if (target.some(Number.isNaN)) return x;
      return elementwise(
        [x, { kind: x.kind, shape, data: new Float64Array(limit(shape, where)) }],
        x.kind,
        (v) => v,
        where,
      );
    }
    case "Slice":
      return slice(x, inputs, where);
    case "ReduceMean": {
      const axes =
        (opset >= 18 ? (inputs[1] ? Array.from(inputs[1].data) : undefined) : node.ints("axes")) ??
        x.shape.map((_, i) => i);
      const set = new Set(axes.map((a) => axisOf(a, x.shape.length)));
      const keep = node.int("keepdims", 1) === 1;
      const kept = x.shape.map((d, i) => (set.has(i) ? 1 : d));
      const sums = new Float64Array(sizeOf(kept));
      const inStrides = stridesOf(x.shape);
      const keptStrides = stridesOf(kept);
      for (let i = 0; i < x.data.length; i++) {
        let rest = i;
        let j = 0;
        for (let a = 0; a < x.shape.length; a++) {
          const q = Math.floor(rest / inStrides[a]!);
          rest -= q * inStrides[a]!;
          if (!set.has(a)) j += q * keptStrides[a]!;
        }
        sums[j]! += x.data[i]!;
      }
      const count = x.data.length / sums.length;
      const data = sums.map((s) => f(s / count));
      return { kind: "float", shape: keep ? kept : x.shape.filter((_, i) => !set.has(i)), data };
    }
    default:
      return undefined;
  }
}

/** ONNX Slice (opset 10+: starts, ends, axes, steps as inputs), with its clamping rules. */
function slice(x: Const, inputs: (Const | undefined)[], where: string): Const {
  const starts = Array.from(inputs[1]!.data);
  const ends = Array.from(inputs[2]!.data);
  const axes = inputs[3] ? Array.from(inputs[3].data) : starts.map((_, i) => i);
  const steps = inputs[4] ? Array.from(inputs[4].data) : starts.map(() => 1);
  const picks = x.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, k) => {
    const axis = axisOf(a, x.shape.length);
    const dim = x.shape[axis]!;
    const step = steps[k]!;
    if (step === 0) throw new OnnxError(`${where}: Slice step 0`);
    let start = starts[k]!;
    let end = ends[k]!;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    const idx: number[] = [];
    if (step > 0) {
      start = Math.min(Math.max(start, 0), dim);
      end = Math.min(Math.max(end, 0), dim);
      for (let i = start; i < end; i += step) idx.push(i);
    } else {
      start = Math.min(Math.max(start, 0), dim - 1);
      end = Math.min(Math.max(end, -1), dim - 1);
      for (let i = start; i > end; i += step) idx.push(i);
    }
    picks[axis] = idx;
  });
  const shape = picks.map((p) => p.length);
  const strides = stridesOf(x.shape);
  const data = new Float64Array(sizeOf(shape));
  const outStrides = stridesOf(shape);
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let src = 0;
    for (let a = 0; a < shape.length; a++) {
      const q = Math.floor(rest / outStrides[a]!);
      rest -= q * outStrides[a]!;
      src += picks[a]![q]! * strides[a]!;
    }
    data[i] = x.data[src]!;
  }
  return { kind: x.kind, shape, data };
}
