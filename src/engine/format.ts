/**
 * The `.onebit` file (docs/format.md is the specification):
 *
 *   offset 0   8 bytes  magic 89 4F 4E 45 42 49 54 0A ("\x89ONEBIT\n")
 *   offset 8   uint16   major format version (a reader rejects a newer major)
 *   offset 10  uint16   minor format version (newer minors only add optional fields)
 *   offset 12  uint32   header length L in bytes
 *   offset 16  L bytes  header: UTF-8 JSON (layers, class names, section table, metadata)
 *   then       zero padding to a multiple of 64, then the data sections, each at a
 *              64-byte-aligned offset, in any order, not overlapping; the file ends where
 *              the last section ends.
 *
 * All integers little-endian. Sections hold float32 (f32), int32 (i32) or packed bit words
 * (bits: uint32, the last axis packed as in src/kernels/bits.ts).
 *
 * Decoding checks everything (prefix, header limits, JSON, schema, section bounds,
 * alignment, overlap, byte lengths, layer chain) before returning, and throws
 * ModelFormatError otherwise. It allocates at most about the file's size.
 *
 *     const bytes = encodeModel(model);
 *     const again = decodeModel(bytes, "mnist.onebit"); // deep-equal to model
 */
import { ModelFormatError } from "./format-error.js";
import {
  collectTensors,
  HEADER_LIMITS,
  headerJson,
  parseHeaderModel,
  type SectionEntry,
  sectionSchema,
} from "./format-header.js";
import { jsonNesting, SchemaError } from "./format-schema.js";
import type { DType, EngineModel, Tensor } from "./model.js";
import { BYTES_PER_ELEMENT, needsFormat2, storageLength } from "./model.js";
import { checkModel, MODEL_LIMITS } from "./model-check.js";

export { ModelFormatError } from "./format-error.js";

export const MAGIC = Uint8Array.of(0x89, 0x4f, 0x4e, 0x45, 0x42, 0x49, 0x54, 0x0a);
/** The newest version this code reads and writes. */
export const FORMAT_VERSION = { major: 2, minor: 0 } as const;
/**
 * The version a chain of format 1.x layers is written as, so that such models give the
 * same bytes as before graphs existed and older readers still open them.
 */
export const CHAIN_VERSION = { major: 1, minor: 1 } as const;
/** Bytes before the header: magic, major, minor, header length. */
export const PREFIX_BYTES = 16;
export const SECTION_ALIGNMENT = 64;
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const align = (n: number) => Math.ceil(n / SECTION_ALIGNMENT) * SECTION_ALIGNMENT;
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Serializes a model into `.onebit` bytes, refusing (ModelFormatError) a model that fails
 * checkModel or whose bytes would not decode. Each distinct tensor object becomes one
 * section, in the order the header first mentions it.
 */
export function encodeModel(model: EngineModel): Uint8Array {
  checkModel(model);
  const tensors = collectTensors(model);
  const relative: number[] = [];
  let end = 0;
  for (const t of tensors) {
    relative.push(end);
    end = align(end + t.data.byteLength);
  }
  // Offsets are absolute, so the header's length depends on them: grow the data start
  // until the header fits in front of it. It only grows, and ends at exactly
  // align(16 + header length) (usually after two rounds).
  let dataStart = SECTION_ALIGNMENT;
  let text: string;
  let header: Uint8Array;
  for (;;) {
    const sections: SectionEntry[] = tensors.map((t, i) => ({
      dtype: t.dtype,
      shape: t.shape,
      offset: dataStart + relative[i]!,
      byteLength: t.data.byteLength,
    }));
    text = headerJson(model, tensors, sections);
    header = new TextEncoder().encode(text);
    const needed = align(PREFIX_BYTES + header.length);
    if (needed <= dataStart) break;
    dataStart = needed;
  }
  if (header.length > MAX_HEADER_BYTES) {
    throw new ModelFormatError(`header of ${header.length} bytes exceeds the limit of ${MAX_HEADER_BYTES}`);
  }
  const lastEnd =
    tensors.length === 0
      ? PREFIX_BYTES + header.length
      : dataStart + relative.at(-1)! + tensors.at(-1)!.data.byteLength;
  const bytes = new Uint8Array(lastEnd);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  const version = needsFormat2(model) ? FORMAT_VERSION : CHAIN_VERSION;
  view.setUint16(8, version.major, true);
  view.setUint16(10, version.minor, true);
  view.setUint32(12, header.length, true);
  bytes.set(header, PREFIX_BYTES);
  for (const [i, t] of tensors.entries()) writeSection(view, dataStart + relative[i]!, t);
  // What checkModel cannot see (extra fields, informational fields of the wrong type) the
  // reader rejects: never hand out a file that would not read back.
  decodeModel(bytes);
  return bytes;
}

function writeSection(view: DataView, offset: number, t: Tensor): void {
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(view.buffer, offset, t.data.byteLength).set(
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    );
    return;
  }
  for (let i = 0; i < t.data.length; i++) {
    if (t.dtype === "f32") view.setFloat32(offset + 4 * i, t.data[i]!, true);
    else view.setUint32(offset + 4 * i, t.data[i]!, true);
  }
}

/**
 * Parses and validates `.onebit` bytes. `fileName` only labels error messages. Throws
 * ModelFormatError naming the file, the layer and the fault; never returns a model the
 * engine could not run safely.
 */
export function decodeModel(bytes: Uint8Array, fileName?: string): EngineModel {
  const fail = (detail: string): never => {
    throw new ModelFormatError(detail, fileName);
  };
  // A Uint8Array from another realm (worker, iframe) fails instanceof but has the tag.
  if (!(bytes instanceof Uint8Array) && Object.prototype.toString.call(bytes) !== "[object Uint8Array]") {
    fail("expected the file's bytes as a Uint8Array");
  }
  if (bytes.length < PREFIX_BYTES)
    fail(`file too short: ${bytes.length} bytes, the fixed prefix alone is ${PREFIX_BYTES}`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail("not a .onebit file (wrong magic number)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = view.getUint16(8, true);
  const minor = view.getUint16(10, true);
  if (major !== FORMAT_VERSION.major && major !== CHAIN_VERSION.major) {
    fail(
      major > FORMAT_VERSION.major
        ? `format version ${major}.${minor} is newer than this reader (${CHAIN_VERSION.major}.x and ${FORMAT_VERSION.major}.x): upgrade onebit`
        : `format version ${major}.${minor} is not supported (this reader reads ${CHAIN_VERSION.major}.x and ${FORMAT_VERSION.major}.x)`,
    );
  }
  const headerLength = view.getUint32(12, true);
  if (headerLength > MAX_HEADER_BYTES)
    fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES}`);
  if (PREFIX_BYTES + headerLength > bytes.length) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes): truncated?`);
  }
  let text: string;
  let raw: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength),
    );
  } catch {
    return fail("header is not valid UTF-8");
  }
  // Layers and sections nest a few levels, metadata at most maxMetadataDepth more.
  const maxNesting = MODEL_LIMITS.maxMetadataDepth + 8;
  if (jsonNesting(text, maxNesting) > maxNesting) fail(`header JSON nests deeper than ${maxNesting} levels`);
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("header must be a JSON object");
  const header = raw as Record<string, unknown>;
  const known = major === FORMAT_VERSION.major ? FORMAT_VERSION : CHAIN_VERSION;
  const ctx = { allowUnknownKeys: minor > known.minor };
  const sections = parseSections(header["sections"], PREFIX_BYTES + headerLength, bytes.length, ctx, fail);
  const tensors = sections.map((s) => readSection(view, s));
  const model = parseHeaderModel(header, sections, tensors, ctx, fileName, major);
  checkModel(model, fileName);
  return model;
}

/** The section table, checked: aligned, after the header, in bounds, sized by dtype and shape, disjoint. */
function parseSections(
  raw: unknown,
  headerEnd: number,
  fileSize: number,
  ctx: { allowUnknownKeys: boolean },
  fail: (detail: string) => never,
): SectionEntry[] {
  if (!Array.isArray(raw)) return fail("header.sections: expected an array");
  const dataStart = align(headerEnd);
  if (raw.length > HEADER_LIMITS.maxSections)
    fail(`header.sections: more than ${HEADER_LIMITS.maxSections} sections`);
  const sections = raw.map((entry, i) => {
    let s: SectionEntry;
    try {
      s = sectionSchema(entry, `header.sections[${i}]`, ctx);
    } catch (e) {
      if (e instanceof SchemaError) return fail(e.message);
      throw e;
    }
    const where = `section ${i}`;
    if (s.offset % SECTION_ALIGNMENT !== 0)
      fail(`${where}: offset ${s.offset} is not a multiple of ${SECTION_ALIGNMENT}`);
    if (s.offset < dataStart)
      fail(`${where}: offset ${s.offset} lies inside the header (data starts at ${dataStart})`);
    if (s.offset + s.byteLength > fileSize) {
      fail(
        `${where}: bytes ${s.offset}..${s.offset + s.byteLength} run past the end of the file (${fileSize} bytes): truncated?`,
      );
    }
    const expected = storageLength(s.dtype, s.shape) * BYTES_PER_ELEMENT;
    if (s.byteLength !== expected) {
      fail(
        `${where}: a ${s.dtype} tensor of shape [${s.shape.join(",")}] takes ${expected} bytes, the table says ${s.byteLength}`,
      );
    }
    return s;
  });
  const order = sections.map((_, i) => i).sort((a, b) => sections[a]!.offset - sections[b]!.offset);
  for (let j = 1; j < order.length; j++) {
    const prev = sections[order[j - 1]!]!;
    const cur = sections[order[j]!]!;
    if (cur.offset < prev.offset + prev.byteLength)
      fail(`section ${order[j]} overlaps section ${order[j - 1]}`);
  }
  const end = sections.reduce((e, s) => Math.max(e, s.offset + s.byteLength), headerEnd);
  if (fileSize > end)
    fail(`${fileSize - end} unexpected bytes after the ${sections.length ? "last section" : "header"}`);
  return sections;
}

const ARRAYS: Record<DType, Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor> = {
  f32: Float32Array,
  i32: Int32Array,
  bits: Uint32Array,
};

/** A fresh, aligned copy of a section's elements (the caller's bytes may be unaligned). */
function readSection(view: DataView, s: SectionEntry): Tensor {
  const n = s.byteLength / BYTES_PER_ELEMENT;
  const data = new ARRAYS[s.dtype](n);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(data.buffer).set(new Uint8Array(view.buffer, view.byteOffset + s.offset, s.byteLength));
  } else {
    for (let i = 0; i < n; i++) {
      data[i] =
        s.dtype === "f32" ? view.getFloat32(s.offset + 4 * i, true) : view.getUint32(s.offset + 4 * i, true);
    }
  }
  return { dtype: s.dtype, shape: s.shape, data } as Tensor;
}
