/**
 * IDX files (the MNIST container, http://yann.lecun.com/exdb/mnist/), raw or gzip.
 *
 * Layout, big-endian: `0x00 0x00 <dtype code> <ndim>`, then ndim uint32 dims, then
 * prod(dims) elements. Every size is checked against the bytes actually present before
 * anything is allocated, so a corrupt or hostile header costs an error, never a huge
 * allocation.
 *
 *     const { dims, data } = readIdx("train-images-idx3-ubyte.gz"); // dims [60000, 28, 28]
 */
import fs from "node:fs";
import zlib from "node:zlib";
import { DataError } from "./errors.js";

/** The element types an IDX file can hold. */
export type IdxDtype = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";
/** The typed array of an IdxArray, one per IdxDtype. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An n-dimensional array as stored in an IDX file (row-major, `data.length = prod(dims)`). */
export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  data: IdxData;
}

/** Limits for `readIdx`. */
export interface IdxReadOptions {
  /** Refuse files (after decompression) larger than this many bytes. Default 1 GiB. */
  maxBytes?: number;
}

const DTYPES: readonly { code: number; dtype: IdxDtype; bytes: number }[] = [
  { code: 0x08, dtype: "uint8", bytes: 1 },
  { code: 0x09, dtype: "int8", bytes: 1 },
  { code: 0x0b, dtype: "int16", bytes: 2 },
  { code: 0x0c, dtype: "int32", bytes: 4 },
  { code: 0x0d, dtype: "float32", bytes: 4 },
  { code: 0x0e, dtype: "float64", bytes: 8 },
];

const DEFAULT_MAX_BYTES = 2 ** 30;
const hex = (v: number): string => `0x${v.toString(16).padStart(2, "0")}`;

/** True when `bytes` starts with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decodes an IDX file's bytes (already decompressed). `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file = "<idx>"): IdxArray {
  if (bytes.length < 4)
    throw new DataError(file, `not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(
      file,
      `not an IDX file: magic must start with 0x00 0x00, got ${hex(bytes[0]!)} ${hex(bytes[1]!)}`,
    );
  }
  const code = bytes[2]!;
  const type = DTYPES.find((t) => t.code === code);
  if (!type) {
    const known = DTYPES.map((t) => `${hex(t.code)} ${t.dtype}`).join(", ");
    throw new DataError(file, `unsupported IDX dtype code ${hex(code)} (known: ${known})`);
  }
  const ndim = bytes[3]!;
  if (ndim === 0) throw new DataError(file, "IDX header declares 0 dimensions");
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DataError(
      file,
      `truncated header: ${ndim} dims need ${headerBytes} header bytes, file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) {
      throw new DataError(file, `absurd IDX dims: the element count overflows at dim ${i} (${d})`);
    }
  }
  const shape = `[${dims.join(", ")}]`;
  const need = count * type.bytes;
  const have = bytes.length - headerBytes;
  if (have < need) {
    throw new DataError(
      file,
      `truncated: dims ${shape} of ${type.dtype} need ${need} data bytes, file has ${have}`,
    );
  }
  if (have > need) {
    throw new DataError(
      file,
      `trailing garbage: ${have - need} bytes after the ${need} data bytes declared by dims ${shape}`,
    );
  }
  return { dtype: type.dtype, dims, data: decode(view, headerBytes, count, type.dtype) };
}

function decode(view: DataView, at: number, n: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(view.buffer, view.byteOffset + at, n).slice();
    case "int8":
      return new Int8Array(view.buffer, view.byteOffset + at, n).slice();
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, false);
      return out;
    }
  }
}

/**
 * Reads a file's bytes, gunzipping when it starts with the gzip magic (whatever its name).
 * The decompressed size is capped at `maxBytes`, so a gzip bomb is an error, not an OOM.
 */
export function readMaybeGzip(
  file: string,
  { maxBytes = DEFAULT_MAX_BYTES }: IdxReadOptions = {},
): Uint8Array {
  let raw: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > maxBytes) throw new DataError(file, `file is ${size} bytes, over the limit of ${maxBytes}`);
    raw = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, `cannot read: ${(e as Error).message}`);
  }
  if (!isGzip(raw)) return raw;
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ERR_BUFFER_TOO_LARGE") {
      throw new DataError(file, `decompresses to more than the limit of ${maxBytes} bytes`);
    }
    throw new DataError(file, `corrupt gzip data: ${err.message}`);
  }
}

/** Reads an IDX file, raw or gzip (detected by its magic bytes). */
export function readIdx(file: string, options: IdxReadOptions = {}): IdxArray {
  return parseIdx(readMaybeGzip(file, options), file);
}

/** Encodes an array as IDX bytes (big-endian). Throws when `data.length` is not prod(dims). */
export function encodeIdx({ dtype, dims, data }: IdxArray): Uint8Array {
  const type = DTYPES.find((t) => t.dtype === dtype);
  if (!type) throw new Error(`encodeIdx: unknown dtype ${dtype}`);
  if (dims.length === 0 || dims.length > 255) throw new Error(`encodeIdx: ${dims.length} dims (need 1..255)`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`encodeIdx: dims [${dims.join(", ")}] hold ${count} elements, data has ${data.length}`);
  }
  const at = 4 + 4 * dims.length;
  const out = new Uint8Array(at + count * type.bytes);
  const view = new DataView(out.buffer);
  out[2] = type.code;
  out[3] = dims.length;
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  for (let i = 0; i < count; i++) {
    const v = data[i]!;
    const p = at + i * type.bytes;
    if (dtype === "uint8") view.setUint8(p, v);
    else if (dtype === "int8") view.setInt8(p, v);
    else if (dtype === "int16") view.setInt16(p, v, false);
    else if (dtype === "int32") view.setInt32(p, v, false);
    else if (dtype === "float32") view.setFloat32(p, v, false);
    else view.setFloat64(p, v, false);
  }
  return out;
}

/** Writes an IDX file; `gzip: true` compresses it (as the official downloads are). */
export function writeIdx(file: string, array: IdxArray, { gzip = false }: { gzip?: boolean } = {}): void {
  const bytes = encodeIdx(array);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
}
