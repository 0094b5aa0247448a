/**
 * Model summary, as Larq's `models.summary` plus what it cannot report: the deployed size.
 * Per layer: type, output shape, parameters, bits per weight and per input activation,
 * memory as float32 and as deployed, multiply-accumulates split into binary (1-bit weight x
 * 1-bit input: XNOR-popcount) and float (everything else). Totals, the float-32 equivalent
 * and compression ratio = float32 bytes / deployed bytes.
 *
 * - From a checkpoint: the layer list and tensors, and the `.onebit` model the exporter
 *   makes of it (deployed bytes per layer: the engine tensors named after it; a batch norm
 *   folded into a binary layer's thresholds deploys as 0 bytes; file bytes: the encoding).
 * - From a `.onebit` file: its engine layers and the real file size.
 *
 *     const s = summarizeEngineModel(decodeModel(bytes), bytes.length);
 *     s.totals.compression; // e.g. 26.3
 */

import { BYTE_TO_SIGNED } from "../data/index.js";
import { encodeModel } from "../engine/format.js";
import { activationMemory, type Layer as EngineLayer, type EngineModel } from "../engine/model.js";
import { convertCheckpoint } from "../export/checkpoint.js";
import { convertModel } from "../export/convert.js";
import { buildModel } from "../nn/build.js";
import { modelOfCheckpoint, snapshotTensors } from "../nn/checkpoint.js";
import type { Checkpoint } from "../nn/checkpointFormat.js";
import type { Model } from "../nn/model.js";
import { type LayerSpec, type ModelSpec, resolveSpec } from "../nn/spec.js";
import { createContext } from "../tensor/index.js";
import { Random } from "../util/random.js";
import { checkpointInputShape, WEIGHT_TYPES } from "./variant.js";

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
  /** Bits per weight (1 binary, k, 32 float); null for layers without weights. */
  weightBits: number | null;
  /** Bits per input activation of a weight layer; null otherwise. */
  inputBits: number | null;
  float32Bytes: number;
  /** Bytes of the deployed tensors (estimated when the model cannot be converted: see `note`). */
  deployedBytes: number;
  macs: { binary: number; float: number };
  note?: string;
}

export interface ModelSummary {
  source: string;
  kind: "checkpoint" | "onebit" | "spec";
  model: string;
  inputShape: number[];
  layers: LayerSummary[];
  totals: {
    params: number;
    binaryParams: number;
    float32Bytes: number;
    deployedBytes: number;
    /** Size of the `.onebit` file (the real one, or the encoding of the converted checkpoint). */
    fileBytes: number | null;
    macs: { binary: number; float: number };
    /** float32Bytes / fileBytes (or / deployedBytes when there is no file). */
    compression: number | null;
  };
  /** Per image, of the deployed model: see activationMemory in src/engine/model.ts. */
  activations?: { peakBytes: number; largestBytes: number; totalBytes: number };
  note?: string;
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function totalsOf(layers: LayerSummary[], fileBytes: number | null): ModelSummary["totals"] {
  const sum = (f: (l: LayerSummary) => number) => layers.reduce((a, l) => a + f(l), 0);
  const deployed = sum((l) => l.deployedBytes);
  const float32Bytes = sum((l) => l.float32Bytes);
  const denominator = fileBytes ?? deployed;
  return {
    params: sum((l) => l.params),
    binaryParams: sum((l) => (l.weightBits === 1 ? l.params : 0)),
    float32Bytes,
    deployedBytes: deployed,
    fileBytes,
    macs: { binary: sum((l) => l.macs.binary), float: sum((l) => l.macs.float) },
    compression: denominator ? float32Bytes / denominator : null,
  };
}

/** Multiply-accumulates of a weight layer per image: output elements x dot length. */
function macsOf(
  type: string,
  kernelShape: readonly number[],
  outputShape: readonly number[],
  binary: boolean,
) {
  // Depthwise [k, k, C]: k*k per output value; dense [out, in]: in; conv OHWI: k*k*C.
  const n = type.includes("dense")
    ? prod(outputShape) * kernelShape[1]!
    : type === "depthwise_conv2d"
      ? prod(outputShape) * kernelShape[0]! * kernelShape[1]!
      : prod(outputShape) * prod(kernelShape.slice(1));
  return binary ? { binary: n, float: 0 } : { binary: 0, float: n };
}

/**
 * Summary of the checkpoint in `file`, with the `.onebit` model `onebit export` makes of it
 * (the data set it records supplies class names; without it, classes "0".."N-1").
 */
export async function summarizeCheckpoint(ck: Checkpoint, file: string): Promise<ModelSummary> {
  const ctx = await createContext("wasm");
  const model = modelOfCheckpoint(ctx, ck, file);
  let engine: EngineModel | null = null;
  let note: string | undefined;
  try {
    const exported = await convertCheckpoint(file);
    exported.model.dispose();
    engine = exported.engineModel;
  } catch {
    ({ engine, note } = converted(model, ck));
  }
  model.dispose();
  ctx.dispose();
  return summaryOf(ck, file, "checkpoint", engine, note);
}

/**
 * Summary of a model spec (a builder's or a file's) with freshly initialized weights: the
 * shapes, parameters and MACs do not depend on training.
 *
 *     const s = await summarizeSpec(builderSpec({ builder: "birealnet", options: { inputShape: [224, 224, 3], classes: 1000 } }));
 *     s.totals.macs; // { binary: 1676279808, float: 137793536 }
 */
export async function summarizeSpec(spec: ModelSpec, source = spec.name): Promise<ModelSummary> {
  const ctx = await createContext("ref");
  const model = buildModel(ctx, spec, new Random(0), { source });
  const ck: Checkpoint = {
    spec: model.spec,
    epoch: 0,
    state: {},
    tensors: snapshotTensors(model.namedTensors()),
  };
  const { engine, note } = converted(model, ck);
  model.dispose();
  ctx.dispose();
  return summaryOf(ck, source, "spec", engine, note);
}

/** The engine model the converter makes of `model`, or why it cannot. */
function converted(model: Model, ck: Checkpoint): { engine: EngineModel | null; note?: string } {
  try {
    return { engine: convertModel(model, { classNames: classNames(ck), preprocessing: BYTE_TO_SIGNED }) };
  } catch (e) {
    return { engine: null, note: `not convertible to .onebit: ${(e as Error).message}` };
  }
}

function summaryOf(
  ck: Checkpoint,
  source: string,
  kind: ModelSummary["kind"],
  engine: EngineModel | null,
  note: string | undefined,
): ModelSummary {
  const fileBytes = engine ? encodeModel(engine).length : null;
  const { shapes } = resolveSpec(ck.spec, source);
  const layers = ck.spec.layers.map((l) => checkpointLayer(ck, l, shapes.get(l.name)!, engine));
  return {
    source,
    kind,
    model: ck.spec.name,
    inputShape: checkpointInputShape(ck),
    layers,
    totals: totalsOf(layers, fileBytes),
    ...(engine ? { activations: activationMemory(engine) } : {}),
    note,
  };
}

function classNames(ck: Checkpoint): string[] {
  const out = ck.spec.outputs[0]!;
  const units = ck.spec.layers.find((l) => l.name === out)?.config.units;
  const classes =
    typeof units === "number" ? units : ((ck.model?.options.classes as number | undefined) ?? 10);
  return Array.from({ length: classes }, (_, i) => String(i));
}

function checkpointLayer(
  ck: Checkpoint,
  r: LayerSpec,
  out: number[],
  engine: EngineModel | null,
): LayerSummary {
  const prefix = `${r.name}.`;
  let params = 0;
  for (const [name, t] of ck.tensors) if (name.startsWith(prefix)) params += t.data.length;
  const bits = (q: unknown) => (q ? quantBits(q) : 32);
  const isWeight = WEIGHT_TYPES.has(r.type) || r.type === "depthwise_conv2d";
  const weightBits = isWeight ? bits(r.config.kernelQuantizer) : params > 0 ? 32 : null;
  const inputBits = isWeight ? bits(r.config.inputQuantizer) : null;
  const kernel = ck.tensors.get(`${prefix}kernel`);
  const macs =
    isWeight && kernel
      ? macsOf(r.type, kernel.shape, out, weightBits === 1 && inputBits === 1)
      : { binary: 0, float: 0 };
  let deployedBytes: number;
  let note: string | undefined;
  if (engine) {
    const mine = engine.layers.filter((l) => l.name === r.name || l.name.startsWith(prefix));
    deployedBytes = mine.reduce((a, l) => a + tensorBytes(l), 0);
    if (params > 0 && mine.length === 0) note = "folded into the previous layer's output transform";
  } else {
    // Not convertible: the estimate Larq's summary makes, 1-bit weights packed in 32-bit words.
    const packed = kernel && weightBits === 1 ? packedBytes(kernel.shape) : 4 * (kernel?.data.length ?? 0);
    deployedBytes = packed + 4 * (params - (kernel?.data.length ?? 0));
    note = "deployed size estimated";
  }
  return {
    name: r.name,
    type: r.type,
    outputShape: out,
    params,
    weightBits,
    inputBits,
    float32Bytes: 4 * params,
    deployedBytes,
    macs,
    note,
  };
}

/** Bytes of a sign-packed kernel: rows x ceil(K / 32) words, K = the input-channel axis. */
function packedBytes(shape: readonly number[]): number {
  const last = shape[shape.length - 1]!;
  return 4 * (prod(shape) / last) * Math.ceil(last / 32);
}

function quantBits(q: unknown): number {
  const spec = q as { name: string; options?: { k?: number } };
  if (spec.name === "dorefa") return spec.options?.k ?? 1;
  return 1;
}

type AnyTensor = { dtype: string; shape: number[]; data: ArrayLike<number> & { byteLength: number } };
const isTensor = (v: unknown): v is AnyTensor =>
  typeof v === "object" && v !== null && "dtype" in v && "data" in v && "shape" in v;

/** The tensors an engine layer holds (weights, thresholds, flips, scales, BN vectors), at any depth. */
function tensorsOf(v: unknown, out: AnyTensor[] = []): AnyTensor[] {
  if (isTensor(v)) out.push(v);
  else if (typeof v === "object" && v !== null && !ArrayBuffer.isView(v)) {
    for (const [k, x] of Object.entries(v)) if (k !== "in" && k !== "out") tensorsOf(x, out);
  }
  return out;
}

const tensorBytes = (l: EngineLayer): number => tensorsOf(l).reduce((a, t) => a + t.data.byteLength, 0);

/** Summary of a decoded `.onebit` model; `fileBytes` is the file's size. */
export function summarizeEngineModel(m: EngineModel, fileBytes: number, source = m.name): ModelSummary {
  const layers = m.layers.map((l): LayerSummary => {
    const tensors = tensorsOf(l);
    const params = tensors.reduce((a, t) => a + prod(t.shape), 0);
    const w = "weights" in l ? (l.weights as AnyTensor) : undefined;
    const weightBits = w ? (w.dtype === "bits" ? 1 : 32) : params > 0 ? 32 : null;
    const inputBits = w ? (l.in.layout === "bits" ? 1 : 32) : null;
    const macs = w
      ? macsOf(l.kind, w.shape, l.out.shape, weightBits === 1 && inputBits === 1)
      : { binary: 0, float: 0 };
    return {
      name: l.name,
      type: l.kind,
      outputShape: [...l.out.shape],
      params,
      weightBits,
      inputBits,
      float32Bytes: 4 * params,
      deployedBytes: tensorBytes(l),
      macs,
    };
  });
  return {
    source,
    kind: "onebit",
    model: m.name,
    inputShape: [...m.layers[0]!.in.shape],
    layers,
    totals: totalsOf(layers, fileBytes),
    activations: activationMemory(m),
  };
}
