/**
 * The trainable-checkpoint format (separate from the `.onebit` inference format).
 * Little-endian, version 2:
 *
 *   offset 0   8 bytes  magic "ONEBITCK"
 *   offset 8   uint32   format version (2; version 1 files are read and upgraded)
 *   offset 12  uint32   header length H in bytes
 *   offset 16  H bytes  JSON header (UTF-8), padded with spaces to a multiple of 16
 *   then       float32 sections, each at `dataStart + offset` (bytes, 16-aligned), in header order
 *
 * The header is a `CheckpointHeader`: the model spec (src/nn/spec.ts: named layers with
 * type, config and inputs, resolved, so a reader needs no model code to interpret the
 * tensors), the builder config it came from if any, epoch, history, RNG states, optimizer
 * settings and a table of tensors `{name, shape, offset, length}`. Tensor names are the
 * layer's name and the tensor's (the exporter reads them):
 *   "LAYER.kernel"        latent (real-valued) weights: dense [out, in], conv OHWI
 *   "LAYER.bias"          bias [out] (where the layer has one)
 *   "LAYER.gamma" / ".beta" / ".runningMean" / ".runningVar"   batch norm [channels]
 *   "optimizer.m.NAME" / "optimizer.v.NAME"   Adam moments (SGD: "optimizer.velocity.NAME")
 * Batch norm without scale (Larq's scale = false) or center has no gamma (read as 1) or
 * beta (read as 0).
 *
 * Version 1 stored a builder config and the built layer list instead of a spec, and named
 * tensors by position ("layers.I.kernel"). Decoding such a file rebuilds the spec from
 * its builder, checks that it lists the same layers (type and config), and renames the
 * tensors to the spec's layer names, so everything downstream sees version 2.
 *
 * Encoding is deterministic (no timestamps, fixed key order), so the same training run
 * gives byte-identical files.
 */
import { jsonNesting } from "../engine/format-schema.js";
import { OnebitError } from "../errors.js";
import { builderSpec } from "./builders.js";
import { type ModelSpec, resolveSpec } from "./spec.js";

export const CHECKPOINT_MAGIC = "ONEBITCK";
export const CHECKPOINT_VERSION = 2;
/** Refuse headers larger than this (a corrupt length must not trigger a huge allocation). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** JSON nesting the header may have (state holds plain records); deeper is refused before parsing. */
const MAX_HEADER_NESTING = 64;
const MAX_TENSORS = 1 << 16;
const MAX_RANK = 8;

/** The error a file that is not a valid checkpoint raises: the message names the file and the fault. */
export class CheckpointError extends OnebitError {
  override readonly name = "CheckpointError";

  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: not a valid onebit checkpoint: ${detail}`);
  }
}

/**
 * A model config: a builder name and its options (what `--model NAME` and version-1 checkpoints
 * give).
 */
export interface ModelConfig {
  /** Builder name, e.g. "bnn-cnn". */
  builder: string;
  /** Builder options, as passed (they rebuild the same layers). */
  options: Record<string, unknown>;
}

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Byte offset from the start of the data sections. */
  offset: number;
  /** Number of float32 values. */
  length: number;
}

/** One layer as stored: its type ("quant_dense", "batch_norm", ...) and its config. */
export interface LayerRecord {
  type: string;
  config: Record<string, unknown>;
}

/** The JSON header of a checkpoint file (src/nn/checkpointFormat.ts describes the layout). */
export interface CheckpointHeader {
  format: "onebit-checkpoint";
  spec: ModelSpec;
  /** The builder config the spec came from (absent for models written as code). */
  model?: ModelConfig;
  /** Completed epochs. */
  epoch: number;
  /** Free-form, JSON-serializable training state (history, RNG states, optimizer settings). */
  state: Record<string, unknown>;
  tensors: TensorEntry[];
}

/** A float32 tensor stored in a checkpoint: its shape and values. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * A decoded checkpoint: the resolved model spec (and the builder config it came from), the
 * epoch, the named tensors and the training state (optimizer, RNG, history).
 */
export interface Checkpoint {
  /** The model, resolved (every config with its defaults). */
  spec: ModelSpec;
  /** The builder config the spec came from, when it came from one. */
  model?: ModelConfig;
  epoch: number;
  state: Record<string, unknown>;
  /** Tensors by name ("conv1.kernel"), in file order. */
  tensors: Map<string, NamedTensor>;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Serializes a checkpoint to bytes. */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of ck.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new Error(
        `encodeCheckpoint: tensor '${name}' has shape [${t.shape}] but ${t.data.length} values`,
      );
    }
    entries.push({ name, shape: [...t.shape], offset, length: n });
    offset += align16(n * 4);
  }
  const header: CheckpointHeader = {
    format: "onebit-checkpoint",
    spec: ck.spec,
    ...(ck.model ? { model: ck.model } : {}),
    epoch: ck.epoch,
    state: ck.state,
    tensors: entries,
  };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = align16(json.length);
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const dataStart = 16 + json.length;
  const bytes = new Uint8Array(dataStart + offset);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = CHECKPOINT_MAGIC.charCodeAt(i);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, json.length, true);
  bytes.set(json, 16);
  entries.forEach((e, i) => {
    const data = [...ck.tensors.values()][i]!.data;
    for (let j = 0; j < data.length; j++) view.setFloat32(dataStart + e.offset + 4 * j, data[j]!, true);
  });
  return bytes;
}

/**
 * Parses and validates checkpoint bytes; `source` names the file in errors. Throws
 * CheckpointError for anything malformed: prefix, header JSON (nesting measured before
 * parsing), field types, and a tensor table whose entries must be in bounds, sized by their
 * shapes and disjoint, so the tensors copied out never exceed the file's data bytes.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(source, why);
  };
  if (bytes.length < 16) fail(`file is ${bytes.length} bytes, shorter than the 16-byte preamble`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) fail(`magic is ${JSON.stringify(magic)}, expected "${CHECKPOINT_MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== 1 && version !== CHECKPOINT_VERSION)
    fail(`format version ${version}, this reader knows 1 and ${CHECKPOINT_VERSION}`);
  const headerBytes = view.getUint32(12, true);
  if (headerBytes > MAX_HEADER_BYTES || 16 + headerBytes > bytes.length) {
    fail(`header length ${headerBytes} exceeds the file (${bytes.length} bytes)`);
  }
  const text = new TextDecoder().decode(bytes.subarray(16, 16 + headerBytes));
  if (jsonNesting(text, MAX_HEADER_NESTING) > MAX_HEADER_NESTING) {
    fail(`header JSON nests deeper than ${MAX_HEADER_NESTING} levels`);
  }
  let header: CheckpointHeader & { layers?: unknown };
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (!isObject(header) || header.format !== "onebit-checkpoint" || !Array.isArray(header.tensors)) {
    fail("header lacks format 'onebit-checkpoint' or a tensor table");
  }
  if (version === 1) {
    header.spec = legacySpec(header as unknown as Record<string, unknown>, fail);
  } else {
    if (header.model !== undefined && !isBuilderConfig(header.model)) {
      fail("model is not a builder config (builder: a string, options: an object)");
    }
    try {
      header.spec = resolveSpec(header.spec, "its model spec").spec;
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (!Number.isSafeInteger(header.epoch) || header.epoch < 0)
    fail(`epoch ${show(header.epoch)} is not a count`);
  if (header.state !== undefined && !isObject(header.state)) fail("state is not an object");
  if (header.tensors.length > MAX_TENSORS) fail(`${header.tensors.length} tensors, more than ${MAX_TENSORS}`);
  const dataStart = 16 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  const entries = header.tensors.map((e: unknown, i: number) => tensorEntry(e, i, dataBytes, fail));
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) fail(`tensor '${e.name}' appears twice`);
    names.add(e.name);
  }
  // Disjoint sections: together they fit in the data bytes, so the copies below do too.
  const order = [...entries].sort((a, b) => a.offset - b.offset);
  for (let j = 1; j < order.length; j++) {
    const prev = order[j - 1]!;
    if (order[j]!.offset < prev.offset + 4 * prev.length) {
      fail(`tensor '${order[j]!.name}' overlaps tensor '${prev.name}'`);
    }
  }
  const rename = version === 1 ? legacyName(header.spec) : (n: string) => n;
  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const data = new Float32Array(e.length);
    for (let j = 0; j < e.length; j++) data[j] = view.getFloat32(dataStart + e.offset + 4 * j, true);
    tensors.set(rename(e.name), { shape: e.shape, data });
  }
  return {
    spec: header.spec,
    ...(header.model ? { model: header.model } : {}),
    epoch: header.epoch,
    state: header.state ?? {},
    tensors,
  };
}

function isBuilderConfig(m: unknown): m is ModelConfig {
  return isObject(m) && typeof m.builder === "string" && isObject(m.options);
}

/**
 * A version-1 header's model as a spec: its builder's, which must list the same layers
 * (type and config) as the file, since a builder default may have changed since.
 */
function legacySpec(header: Record<string, unknown>, fail: (why: string) => never): ModelSpec {
  const model = header.model;
  if (!isBuilderConfig(model))
    return fail("header lacks model.builder (a string) and model.options (an object)");
  const layers = header.layers;
  if (!Array.isArray(layers) || !layers.every((l) => isObject(l) && typeof l.type === "string")) {
    return fail("header lacks the layer list (objects with a type)");
  }
  const options = JSON.stringify(model.options).slice(0, 120);
  let spec: ModelSpec;
  try {
    spec = builderSpec(model);
  } catch (e) {
    return fail(`its model (${model.builder} ${options}) cannot be built: ${(e as Error).message}`);
  }
  if (layers.length !== spec.layers.length) {
    fail(`it lists ${layers.length} layers, its model (${model.builder}) has ${spec.layers.length}`);
  }
  layers.forEach((stored, i) => {
    const l = spec.layers[i]!;
    const want = JSON.stringify({ type: l.type, config: l.config });
    const have = JSON.stringify({ type: stored.type, config: stored.config });
    if (have !== want) {
      fail(
        `layer ${i} is ${have} in the file, but its model config (${model.builder} ${options}) builds ${want}`,
      );
    }
  });
  return spec;
}

/** Version 1's positional names ("layers.3.kernel", "optimizer.m.layers.3.kernel") -> the spec's layer names. */
function legacyName(spec: ModelSpec): (name: string) => string {
  return (name) =>
    name.replace(/(^|\.)layers\.(\d+)\./, (whole, lead: string, i: string) => {
      const layer = spec.layers[Number(i)];
      return layer ? `${lead}${layer.name}.` : whole;
    });
}

/** One entry of the tensor table, checked against the data bytes that follow the header. */
function tensorEntry(e: unknown, i: number, dataBytes: number, fail: (why: string) => never): TensorEntry {
  if (!isObject(e)) return fail(`tensor table entry ${i} is ${show(e)}, not an object`);
  const { name, shape, offset, length } = e;
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    fail(`tensor table entry ${i} has no name (a string of 1..256 characters)`);
  }
  const what = `tensor '${name}'`;
  if (
    !Array.isArray(shape) ||
    shape.length > MAX_RANK ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    fail(`${what} has shape ${show(shape)}, expected up to ${MAX_RANK} non-negative integers`);
  }
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  if (n !== length) fail(`${what} has shape ${show(shape)} but length ${show(length)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) % 4 !== 0) {
    fail(`${what} has bad offset ${show(offset)}`);
  }
  if ((offset as number) + 4 * n > dataBytes) {
    fail(`${what} ends at byte ${(offset as number) + 4 * n} of the data, past its end ${dataBytes}`);
  }
  return { name: name as string, shape: [...(shape as number[])], offset: offset as number, length: n };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short rendering of an untrusted value for messages. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
