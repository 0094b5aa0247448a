/**
 * The trainable-checkpoint format (separate from the `.onebit` inference format).
 * Little-endian, version 1:
 *
 *   offset 0   8 bytes  magic "ONEBITCK"
 *   offset 8   uint32   format version (1)
 *   offset 12  uint32   header length H in bytes
 *   offset 16  H bytes  JSON header (UTF-8), padded with spaces to a multiple of 16
 *   then       float32 sections, each at `dataStart + offset` (bytes, 16-aligned), in header order
 *
 * The header is a `CheckpointHeader`: the model config (builder name + options, which
 * rebuild the model), epoch, history, RNG states, optimizer settings and a table of tensors
 * `{name, shape, offset, length}`. Tensor names are stable (the exporter reads them):
 *   "layers.I.kernel"        latent (real-valued) weights: dense [out, in], conv OHWI
 *   "layers.I.bias"          bias [out] (where the layer has one)
 *   "layers.I.gamma" / ".beta" / ".runningMean" / ".runningVar"   batch norm [channels]
 *   "optimizer.m.NAME" / "optimizer.v.NAME"   Adam moments (SGD: "optimizer.velocity.NAME")
 * where I is the index of the layer in the model's layer list. Batch norm without scale
 * (Larq's scale = false) or center has no gamma (read as 1) or beta (read as 0).
 * `layers` lists each layer's type and config (quantizer specs, scaling, padValue, BN eps),
 * so a reader needs no model code to interpret the tensors.
 *
 * Encoding is deterministic (no timestamps, fixed key order), so the same training run
 * gives byte-identical files.
 */

export const CHECKPOINT_MAGIC = "ONEBITCK";
export const CHECKPOINT_VERSION = 1;
/** Refuse headers larger than this (a corrupt length must not trigger a huge allocation). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

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

export interface CheckpointHeader {
  format: "onebit-checkpoint";
  model: ModelConfig;
  layers: LayerRecord[];
  /** Completed epochs. */
  epoch: number;
  /** Free-form, JSON-serializable training state (history, RNG states, optimizer settings). */
  state: Record<string, unknown>;
  tensors: TensorEntry[];
}

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  model: ModelConfig;
  /** The built model's layers, in order (index I of "layers.I.NAME"). */
  layers: LayerRecord[];
  epoch: number;
  state: Record<string, unknown>;
  /** Tensors by name, in file order. */
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
    model: ck.model,
    layers: ck.layers,
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

/** Parses and validates checkpoint bytes; `source` names the file in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid onebit checkpoint: ${why}`);
  };
  if (bytes.length < 16) fail(`file is ${bytes.length} bytes, shorter than the 16-byte preamble`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) fail(`magic is ${JSON.stringify(magic)}, expected "${CHECKPOINT_MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION)
    fail(`format version ${version}, this reader knows ${CHECKPOINT_VERSION}`);
  const headerBytes = view.getUint32(12, true);
  if (headerBytes > MAX_HEADER_BYTES || 16 + headerBytes > bytes.length) {
    fail(`header length ${headerBytes} exceeds the file (${bytes.length} bytes)`);
  }
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerBytes)));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (header?.format !== "onebit-checkpoint" || !Array.isArray(header.tensors)) {
    fail("header lacks format 'onebit-checkpoint' or a tensor table");
  }
  if (typeof header.model?.builder !== "string") fail("header lacks model.builder");
  const dataStart = 16 + headerBytes;
  const tensors = new Map<string, NamedTensor>();
  for (const e of header.tensors) {
    const n = Array.isArray(e.shape) ? e.shape.reduce((a: number, b: number) => a * b, 1) : Number.NaN;
    if (!Number.isInteger(n) || n !== e.length || e.length < 0) {
      fail(`tensor '${e.name}' has shape ${JSON.stringify(e.shape)} but length ${e.length}`);
    }
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset % 4 !== 0) {
      fail(`tensor '${e.name}' has bad offset ${e.offset}`);
    }
    const end = dataStart + e.offset + 4 * e.length;
    if (end > bytes.length) fail(`tensor '${e.name}' ends at byte ${end}, past the file end ${bytes.length}`);
    if (tensors.has(e.name)) fail(`tensor '${e.name}' appears twice`);
    const data = new Float32Array(e.length);
    for (let j = 0; j < e.length; j++) data[j] = view.getFloat32(dataStart + e.offset + 4 * j, true);
    tensors.set(e.name, { shape: [...e.shape], data });
  }
  if (!Array.isArray(header.layers)) fail("header lacks the layer list");
  return {
    model: header.model,
    layers: header.layers,
    epoch: header.epoch,
    state: header.state ?? {},
    tensors,
  };
}
