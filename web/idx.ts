/**
 * The page's own IDX reader (the MNIST container: big-endian `0 0 <dtype> <ndim>`, ndim
 * uint32 dims, then the elements). Only uint8 data, which is what MNIST stores; the sizes
 * are checked against the bytes present.
 *
 *     const { dims, data } = parseIdxU8(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 */

export interface IdxU8 {
  dims: number[];
  data: Uint8Array;
}

export function parseIdxU8(bytes: Uint8Array, name: string): IdxU8 {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: not an IDX file (the magic must start with 0x00 0x00)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(`${name}: IDX dtype 0x${bytes[2]!.toString(16)}, expected 0x08 (uint8)`);
  }
  const ndim = bytes[3]!;
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new Error(`${name}: ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count) {
    throw new Error(`${name}: dims [${dims}] need ${header + count} bytes, the file has ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** Fetches and parses an IDX file. */
export async function fetchIdxU8(url: string): Promise<IdxU8> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return parseIdxU8(new Uint8Array(await response.arrayBuffer()), url);
}
