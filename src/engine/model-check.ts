/**
 * Semantic checks of an EngineModel, shared by the writer (refuse to write a bad model) and
 * the reader (refuse to run a bad file): the layer graph (each layer reads earlier layers,
 * the one before it unless it names its `inputs`, and consumes what they produce, in
 * layout and shape), each layer's output shape following from its input and
 * parameters, every tensor's dtype, shape and storage length, packed tail bits 0, float
 * parameters finite, and size limits that keep the runtime's allocations bounded.
 */
import { convGeometry, type WindowPadding } from "../kernels/geometry.js";
import { ModelFormatError } from "./format-error.js";
import {
  type ActivationSpec,
  type DType,
  type EngineModel,
  type Layer,
  type OutputTransform,
  shapeSize,
  storageLength,
  type Tensor,
} from "./model.js";

/** Limits on what a model may declare; a file beyond them is rejected before any allocation. */
export const MODEL_LIMITS = {
  maxLayers: 4096,
  maxNameLength: 256,
  maxClasses: 65536,
  maxRank: 4,
  /** Any single dimension (channels, height, kernel size, ...). */
  maxDim: 1 << 24,
  /** Elements of one per-sample activation (the runtime allocates batch x this). */
  maxActivationElements: 1 << 26,
  /** Bits per binary dot product: keeps x exact in int32 and in float32. */
  maxDotLength: 1 << 24,
  /**
   * Window taps one conv or pool layer visits per sample (outH * outW * c * kh * kw, times
   * the filters for a conv): a small hostile file must not make the runtime spin for hours.
   * The largest VGG layer needs about 2^31.
   */
  maxWindowWork: 2 ** 36,
  /** Nesting of the free-form metadata. */
  maxMetadataDepth: 32,
} as const;

class LayerFault extends Error {}

const fault = (detail: string): never => {
  throw new LayerFault(detail);
};

const fmt = (shape: readonly number[]) => `[${shape.join(",")}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const fmtSpec = (s: ActivationSpec) => `${s.layout} ${fmt(s.shape)}`;

function checkShape(what: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MODEL_LIMITS.maxRank) {
    fault(`${what}: expected a shape of rank 1..${MODEL_LIMITS.maxRank}, got ${JSON.stringify(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > MODEL_LIMITS.maxDim) {
      fault(`${what}: dimensions must be integers in [1, ${MODEL_LIMITS.maxDim}], got ${fmt(shape)}`);
    }
  }
}

const TYPED: Record<DType, { ctor: abstract new (...args: never[]) => unknown; name: string }> = {
  f32: { ctor: Float32Array, name: "Float32Array" },
  i32: { ctor: Int32Array, name: "Int32Array" },
  bits: { ctor: Uint32Array, name: "Uint32Array" },
};

/** A tensor of the given dtype and shape, with matching storage and valid contents. */
function checkTensor(what: string, t: Tensor | undefined, dtype: DType, shape: readonly number[]): void {
  if (t === undefined) fault(`${what}: missing`);
  const tensor = t as Tensor;
  if (tensor.dtype !== dtype) fault(`${what}: expected dtype ${dtype}, got ${tensor.dtype}`);
  checkShape(what, tensor.shape);
  if (!sameShape(tensor.shape, shape))
    fault(`${what}: expected shape ${fmt(shape)}, got ${fmt(tensor.shape)}`);
  if (!(tensor.data instanceof TYPED[dtype].ctor)) fault(`${what}: data must be a ${TYPED[dtype].name}`);
  const length = storageLength(dtype, shape);
  if (tensor.data.length !== length) {
    fault(`${what}: ${fmt(shape)} ${dtype} needs ${length} elements, data has ${tensor.data.length}`);
  }
  if (tensor.dtype === "f32") {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      // v - v is 0 for finite v and NaN for NaN and +-Infinity (a plain loop: 16M floats in ~20 ms).
      if (data[i]! - data[i]! !== 0) fault(`${what}: element ${i} is ${data[i]}, not finite`);
    }
  }
  if (tensor.dtype === "bits") {
    const c = shape[shape.length - 1]!;
    const words = Math.ceil(c / 32);
    const mask = c % 32 === 0 ? 0 : ~((1 << (c % 32)) - 1);
    for (let w = words - 1; mask !== 0 && w < tensor.data.length; w += words) {
      if ((tensor.data[w]! & mask) !== 0)
        fault(`${what}: tail bits of word ${w} (beyond the ${c} real bits of its row) are not 0`);
    }
  }
}

/** The first `rank - 1` dimensions of a tensor whose last axis the caller fixes. */
function leading(what: string, t: Tensor | undefined, rank: number): number[] {
  if (!Array.isArray(t?.shape) || t.shape.length !== rank) {
    fault(`${what}: expected a rank-${rank} tensor, got ${Array.isArray(t?.shape) ? fmt(t.shape) : "none"}`);
  }
  return t!.shape.slice(0, -1);
}

function checkPair(what: string, v: readonly number[]): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 16)) {
    fault(`${what}: expected two integers in [1, 65536], got ${JSON.stringify(v)}`);
  }
  return [v[0]!, v[1]!];
}

function expectInput(
  spec: ActivationSpec,
  layout: ActivationSpec["layout"] | "any",
  rank: number | "any",
): void {
  if (layout !== "any" && spec.layout !== layout) fault(`expects ${layout} input, got ${fmtSpec(spec)}`);
  if (rank !== "any" && spec.shape.length !== rank)
    fault(`expects a rank-${rank} input, got ${fmtSpec(spec)}`);
}

/** Output [outH, outW] of a window op over input [h, w, c]; a window that does not fit is a fault. */
function window(
  input: ActivationSpec,
  k: [number, number],
  strides: [number, number],
  padding: WindowPadding,
  filters = 1,
) {
  if (Array.isArray(padding)) {
    if (padding.length !== 4 || !padding.every((p) => Number.isInteger(p) && p >= 0 && p <= 1 << 16)) {
      fault(
        `padding: expected 'valid', 'same' or 4 integers [top, left, bottom, right], got ${JSON.stringify(padding)}`,
      );
    }
  } else if (padding !== "valid" && padding !== "same") {
    fault(`padding must be 'valid', 'same' or [top, left, bottom, right], got ${JSON.stringify(padding)}`);
  }
  const [h, w, c] = input.shape as [number, number, number];
  let g: ReturnType<typeof convGeometry>;
  try {
    g = convGeometry(1, h, w, c, k[0], k[1], strides[0], strides[1], padding);
  } catch (e) {
    return fault((e as Error).message.replace(/^convGeometry: /, ""));
  }
  const work = g.outH * g.outW * c * k[0] * k[1] * filters;
  if (work > MODEL_LIMITS.maxWindowWork) {
    fault(
      `a ${k[0]}x${k[1]} window over ${fmt(input.shape)} visits ${work} taps, more than ${MODEL_LIMITS.maxWindowWork}`,
    );
  }
  return g;
}

/** The output a binary layer's transform produces for O channels. */
function transformOutput(output: OutputTransform, outC: number): ActivationSpec["layout"] {
  if (output?.kind === "threshold") {
    checkTensor("output.thresholds", output.thresholds, "i32", [outC]);
    checkTensor("output.flip", output.flip, "bits", [outC]);
    return "bits";
  }
  if (output?.kind === "affine") {
    checkTensor("output.scale", output.scale, "f32", [outC]);
    checkTensor("output.bias", output.bias, "f32", [outC]);
    return "float";
  }
  return fault(`output.kind must be 'threshold' or 'affine', got ${(output as { kind?: unknown })?.kind}`);
}

/** The activation a layer produces from `input` (and, for add and concat, all its inputs), after checking its parameters. */
function inferOutput(layer: Layer, input: ActivationSpec, all: readonly ActivationSpec[]): ActivationSpec {
  switch (layer.kind) {
    case "add":
      for (const [i, s] of all.entries()) {
        if (s.layout !== "float" || !sameShape(s.shape, input.shape)) {
          fault(
            `input ${i} is ${fmtSpec(s)}; add needs float inputs of the first one's shape ${fmt(input.shape)}`,
          );
        }
      }
      return input;
    case "concat": {
      let c = 0;
      for (const [i, s] of all.entries()) {
        const same =
          s.shape.length === input.shape.length && s.shape.slice(0, -1).every((d, j) => d === input.shape[j]);
        if (s.layout !== "float" || !same) {
          fault(
            `input ${i} is ${fmtSpec(s)}; concat needs float inputs equal to ${fmt(input.shape)} but for the last axis`,
          );
        }
        c += s.shape[s.shape.length - 1]!;
      }
      if (c > MODEL_LIMITS.maxDim) fault(`concatenates ${c} channels, more than ${MODEL_LIMITS.maxDim}`);
      return { layout: "float", shape: [...input.shape.slice(0, -1), c] };
    }
    case "globalavgpool": {
      expectInput(input, "float", 3);
      window(input, [input.shape[0]!, input.shape[1]!], [1, 1], "valid");
      return { layout: "float", shape: [input.shape[2]!] };
    }
    case "prelu":
    case "shift": {
      expectInput(input, "float", "any");
      const c = input.shape[input.shape.length - 1]!;
      if (layer.kind === "prelu") checkTensor("alpha", layer.alpha, "f32", [c]);
      else checkTensor("bias", layer.bias, "f32", [c]);
      return input;
    }
    case "depthwise_conv2d": {
      expectInput(input, "float", 3);
      const [kh, kw] = leading("weights", layer.weights, 3);
      checkTensor("weights", layer.weights, "f32", [kh!, kw!, input.shape[2]!]);
      if (layer.bias !== undefined) checkTensor("bias", layer.bias, "f32", [input.shape[2]!]);
      const g = window(input, [kh!, kw!], checkPair("strides", layer.strides), layer.padding);
      return { layout: "float", shape: [g.outH, g.outW, input.shape[2]!] };
    }
    case "input": {
      const c = input.shape[input.shape.length - 1]!;
      for (const key of ["scale", "offset"] as const) {
        const v = layer[key];
        if (!Array.isArray(v) || (v.length !== 1 && v.length !== c) || !v.every(Number.isFinite)) {
          fault(`${key}: expected 1 or ${c} finite numbers`);
        }
      }
      return input;
    }
    case "float_conv2d":
    case "bwn_conv2d": {
      expectInput(input, "float", 3);
      const [outC, kh, kw] = leading("weights", layer.weights, 4);
      const dtype = layer.kind === "bwn_conv2d" ? "bits" : "f32";
      checkTensor("weights", layer.weights, dtype, [outC!, kh!, kw!, input.shape[2]!]);
      if (layer.kind === "bwn_conv2d") checkTensor("alpha", layer.alpha, "f32", [outC!]);
      if (layer.bias !== undefined) checkTensor("bias", layer.bias, "f32", [outC!]);
      if (!Number.isFinite(layer.padValue)) fault(`padValue must be a finite number, got ${layer.padValue}`);
      const g = window(input, [kh!, kw!], checkPair("strides", layer.strides), layer.padding, outC);
      return { layout: "float", shape: [g.outH, g.outW, outC!] };
    }
    case "float_dense":
    case "bwn_dense": {
      expectInput(input, "float", 1);
      const [outC] = leading("weights", layer.weights, 2) as [number];
      const dtype = layer.kind === "bwn_dense" ? "bits" : "f32";
      checkTensor("weights", layer.weights, dtype, [outC, input.shape[0]!]);
      if (layer.kind === "bwn_dense") checkTensor("alpha", layer.alpha, "f32", [outC]);
      if (layer.bias !== undefined) checkTensor("bias", layer.bias, "f32", [outC]);
      return { layout: "float", shape: [outC] };
    }
    case "bitpack":
      expectInput(input, "float", "any");
      if (layer.thresholds !== undefined) {
        checkTensor("thresholds", layer.thresholds, "f32", [input.shape[input.shape.length - 1]!]);
      }
      return { layout: "bits", shape: input.shape };
    case "unpack":
      expectInput(input, "bits", "any");
      return { layout: "float", shape: input.shape };
    case "binary_conv2d": {
      expectInput(input, "bits", 3);
      const [outC, kh, kw] = leading("weights", layer.weights, 4);
      checkTensor("weights", layer.weights, "bits", [outC!, kh!, kw!, input.shape[2]!]);
      if (layer.padValue !== -1 && layer.padValue !== 0 && layer.padValue !== 1) {
        fault(`padValue must be -1, 0 or 1, got ${layer.padValue}`);
      }
      const k = kh! * kw! * input.shape[2]!;
      if (k > MODEL_LIMITS.maxDotLength) fault(`dot length K = ${k} exceeds ${MODEL_LIMITS.maxDotLength}`);
      const g = window(input, [kh!, kw!], checkPair("strides", layer.strides), layer.padding, outC);
      return { layout: transformOutput(layer.output, outC!), shape: [g.outH, g.outW, outC!] };
    }
    case "binary_dense": {
      expectInput(input, "bits", 1);
      const [outC] = leading("weights", layer.weights, 2) as [number];
      checkTensor("weights", layer.weights, "bits", [outC, input.shape[0]!]);
      if (input.shape[0]! > MODEL_LIMITS.maxDotLength) fault(`dot length K = ${input.shape[0]} is too large`);
      return { layout: transformOutput(layer.output, outC), shape: [outC] };
    }
    case "maxpool":
    case "avgpool": {
      expectInput(input, layer.kind === "avgpool" ? "float" : "any", 3);
      const g = window(
        input,
        checkPair("poolSize", layer.poolSize),
        checkPair("strides", layer.strides),
        layer.padding,
      );
      if (layer.kind === "maxpool" && layer.flip !== undefined) {
        if (input.layout !== "bits") fault("flip applies to bit input only");
        checkTensor("flip", layer.flip, "bits", [input.shape[2]!]);
      }
      return { layout: input.layout, shape: [g.outH, g.outW, input.shape[2]!] };
    }
    case "batchnorm": {
      expectInput(input, "float", "any");
      const c = input.shape[input.shape.length - 1]!;
      for (const key of ["mean", "invStd", "gamma", "beta"] as const)
        checkTensor(key, layer[key], "f32", [c]);
      return input;
    }
    case "flatten":
      return { layout: input.layout, shape: [shapeSize(input.shape)] };
    case "relu":
    case "softmax":
      expectInput(input, "float", "any");
      return input;
    default:
      return fault(`unknown layer kind ${JSON.stringify((layer as { kind?: unknown }).kind)}`);
  }
}

function checkSpec(what: string, spec: ActivationSpec): void {
  if (typeof spec !== "object" || spec === null) fault(`${what}: missing`);
  if (spec.layout !== "bits" && spec.layout !== "float") fault(`${what}.layout must be 'bits' or 'float'`);
  checkShape(`${what}.shape`, spec.shape);
  const n = shapeSize(spec.shape);
  if (n > MODEL_LIMITS.maxActivationElements) {
    fault(`${what}: ${fmt(spec.shape)} has ${n} elements, more than ${MODEL_LIMITS.maxActivationElements}`);
  }
}

/** What the layers before a layer produce, by name, and the name of the one just before it. */
interface Producers {
  outputs: Map<string, ActivationSpec>;
  previous: string | undefined;
}

const MAX_INPUTS = 1024;

/** The activations a layer reads: its `inputs`, or the layer before it. */
function inputsOf(layer: Layer, p: Producers): ActivationSpec[] {
  if (layer.inputs === undefined) return [p.outputs.get(p.previous!)!];
  const names = layer.inputs;
  if (
    !Array.isArray(names) ||
    names.length < 1 ||
    names.length > MAX_INPUTS ||
    !names.every((n) => typeof n === "string")
  ) {
    fault(`inputs must list 1..${MAX_INPUTS} layer names`);
  }
  const many = layer.kind === "add" || layer.kind === "concat";
  if (many ? names.length < 2 : names.length !== 1) {
    fault(
      `a ${layer.kind} layer reads ${many ? "two or more inputs" : "one input"}, it lists ${names.length}`,
    );
  }
  return names.map((n) => {
    const spec = p.outputs.get(n);
    if (!spec) fault(`reads '${n}', which is no earlier layer (layers are in topological order)`);
    return spec!;
  });
}

function checkLayer(layer: Layer, index: number, p: Producers): void {
  checkSpec("in", layer.in);
  let all: ActivationSpec[] = [layer.in];
  if (p.previous === undefined) {
    if (layer.kind !== "input") fault("the first layer must be an input layer");
    if (layer.inputs !== undefined) fault("the input layer reads no other layer");
    if (layer.in.layout !== "float" || layer.in.shape.length > 3) fault("input must be float of rank 1..3");
  } else {
    if (layer.kind === "input") fault(`only layer 0 may be an input layer, this is layer ${index}`);
    all = inputsOf(layer, p);
    const first = all[0]!;
    if (layer.in.layout !== first.layout || !sameShape(layer.in.shape, first.shape)) {
      const from = layer.inputs?.[0] ?? "the previous layer";
      fault(
        `declares input ${fmtSpec(layer.in)} but ${from === "the previous layer" ? from : `'${from}'`} produces ${fmtSpec(first)}`,
      );
    }
  }
  checkSpec("out", layer.out);
  const out = inferOutput(layer, layer.in, all);
  if (out.layout !== layer.out.layout || !sameShape(out.shape, layer.out.shape)) {
    fault(`declares output ${fmtSpec(layer.out)} but its input and parameters give ${fmtSpec(out)}`);
  }
}

/** Plain JSON (what JSON.stringify keeps as is): no NaN, undefined, functions or typed arrays. */
function checkMetadata(metadata: unknown, fail: (detail: string) => never): void {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > MODEL_LIMITS.maxMetadataDepth)
      fail(`${path}: nested deeper than ${MODEL_LIMITS.maxMetadataDepth} levels`);
    if (v === null || typeof v === "string" || typeof v === "boolean") return;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) fail(`${path}: ${v} is not a finite number`);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`, depth + 1);
    } else if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, depth + 1);
    } else {
      fail(`${path}: ${typeof v} is not a JSON value`);
    }
  };
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
    fail("metadata must be an object");
  walk(metadata, "metadata", 0);
}

/**
 * Throws ModelFormatError (naming `file`, the layer and the fault) unless `model` is a
 * well-formed, consistent graph (in topological order) ending in float scores, one per
 * class name.
 */
export function checkModel(model: EngineModel, file?: string): void {
  const fail = (detail: string, index?: number): never => {
    const layer = index === undefined ? undefined : model.layers[index];
    throw new ModelFormatError(
      detail,
      file,
      index === undefined ? undefined : { index, name: layer?.name, kind: layer?.kind },
    );
  };
  if (typeof model.name !== "string" || model.name.length > MODEL_LIMITS.maxNameLength) {
    fail(`model name must be a string of at most ${MODEL_LIMITS.maxNameLength} characters`);
  }
  if (
    !Array.isArray(model.layers) ||
    model.layers.length < 1 ||
    model.layers.length > MODEL_LIMITS.maxLayers
  ) {
    fail(`expected 1..${MODEL_LIMITS.maxLayers} layers`);
  }
  const names = new Set<string>();
  const producers: Producers = { outputs: new Map(), previous: undefined };
  model.layers.forEach((layer, index) => {
    if (
      typeof layer.name !== "string" ||
      layer.name.length < 1 ||
      layer.name.length > MODEL_LIMITS.maxNameLength
    ) {
      fail(`layer name must be 1..${MODEL_LIMITS.maxNameLength} characters`, index);
    }
    if (names.has(layer.name)) fail(`duplicate layer name '${layer.name}'`, index);
    names.add(layer.name);
    try {
      checkLayer(layer, index, producers);
    } catch (e) {
      if (e instanceof LayerFault) fail(e.message, index);
      throw e;
    }
    producers.outputs.set(layer.name, layer.out);
    producers.previous = layer.name;
  });
  const scores = model.layers[model.layers.length - 1]!.out;
  const classes = model.classNames;
  if (!Array.isArray(classes) || classes.length < 1 || classes.length > MODEL_LIMITS.maxClasses) {
    fail(`expected 1..${MODEL_LIMITS.maxClasses} class names`);
  }
  const badClass = classes.findIndex((n) => typeof n !== "string" || n.length > MODEL_LIMITS.maxNameLength);
  if (badClass >= 0)
    fail(`class name ${badClass} must be a string of at most ${MODEL_LIMITS.maxNameLength} characters`);
  checkMetadata(model.metadata, fail);
  if (scores.layout !== "float" || scores.shape.length !== 1 || scores.shape[0] !== classes.length) {
    fail(
      `the last layer produces ${fmtSpec(scores)}, expected float [${classes.length}] (one score per class name)`,
    );
  }
}
