import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/data/errors.js";
import { encodeIdx, type IdxArray, parseIdx, readIdx, writeIdx } from "../../src/data/idx.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-idx-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const images: IdxArray = {
  dtype: "uint8",
  dims: [3, 2, 4],
  data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256),
};

/** Writes bytes to a fresh file and returns its path. */
function file(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Reads a file expecting a DataError; returns its message. */
function errorOf(p: string): string {
  try {
    readIdx(p);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).file).toBe(p);
    return (e as Error).message.slice(p.length);
  }
  throw new Error(`expected ${p} to be rejected`);
}

describe("IDX round trip", () => {
  it.each([false, true])("uint8, gzip=%s", (gzip) => {
    const p = path.join(dir, `images-${gzip}.idx`);
    writeIdx(p, images, { gzip });
    expect(fs.readFileSync(p)[0]).toBe(gzip ? 0x1f : 0);
    const back = readIdx(p);
    expect(back.dtype).toBe("uint8");
    expect(back.dims).toEqual([3, 2, 4]);
    expect(back.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.data)).toEqual(Array.from(images.data));
  });

  it("decodes every dtype big-endian", () => {
    const cases: IdxArray[] = [
      { dtype: "int8", dims: [3], data: Int8Array.from([-128, 0, 127]) },
      { dtype: "int16", dims: [3], data: Int16Array.from([-32768, 1, 32767]) },
      { dtype: "int32", dims: [2, 2], data: Int32Array.from([-2147483648, 1, 256, 2147483647]) },
      { dtype: "float32", dims: [3], data: Float32Array.from([-1.5, 0, 3.25]) },
      { dtype: "float64", dims: [2], data: Float64Array.from([Math.PI, -1e300]) },
    ];
    for (const c of cases) {
      const bytes = encodeIdx(c);
      const back = parseIdx(bytes, c.dtype);
      expect(back.dtype).toBe(c.dtype);
      expect(back.dims).toEqual(c.dims);
      expect(back.data.constructor).toBe(c.data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(c.data));
    }
    // int16 1 is stored as 00 01 (big-endian), after the 8-byte header.
    const int16 = encodeIdx(cases[1]!);
    expect(Array.from(int16.subarray(0, 8))).toEqual([0, 0, 0x0b, 1, 0, 0, 0, 3]);
    expect(Array.from(int16.subarray(10, 12))).toEqual([0, 1]);
  });

  it("detects gzip by magic bytes, not by name", () => {
    const p = file("gzipped-without-suffix", zlib.gzipSync(encodeIdx(images)));
    expect(readIdx(p).dims).toEqual([3, 2, 4]);
  });
});

describe("IDX errors name the file and the fault", () => {
  const good = encodeIdx(images);

  it("wrong magic", () => {
    const bad = good.slice();
    bad[0] = 0x50;
    bad[1] = 0x4b;
    expect(errorOf(file("zip.idx", bad))).toMatchInlineSnapshot(
      `": not an IDX file: magic must start with 0x00 0x00, got 0x50 0x4b"`,
    );
  });

  it("unsupported dtype code", () => {
    const bad = good.slice();
    bad[2] = 0x0a;
    expect(errorOf(file("dtype.idx", bad))).toMatchInlineSnapshot(
      `": unsupported IDX dtype code 0x0a (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)"`,
    );
  });

  it("too short for the magic, or for the dims", () => {
    expect(errorOf(file("tiny.idx", new Uint8Array([0, 0])))).toMatchInlineSnapshot(
      `": not an IDX file: 2 bytes, shorter than the 4-byte magic"`,
    );
    expect(errorOf(file("short-header.idx", good.subarray(0, 10)))).toMatchInlineSnapshot(
      `": truncated header: 3 dims need 16 header bytes, file has 10"`,
    );
  });

  it("truncated data, raw and gzip", () => {
    const cut = good.subarray(0, good.length - 5);
    expect(errorOf(file("cut.idx", cut))).toMatchInlineSnapshot(
      `": truncated: dims [3, 2, 4] of uint8 need 24 data bytes, file has 19"`,
    );
    expect(errorOf(file("cut.idx.gz", zlib.gzipSync(cut)))).toMatchInlineSnapshot(
      `": truncated: dims [3, 2, 4] of uint8 need 24 data bytes, file has 19"`,
    );
  });

  it("trailing garbage", () => {
    const long = new Uint8Array(good.length + 3);
    long.set(good);
    expect(errorOf(file("long.idx", long))).toMatchInlineSnapshot(
      `": trailing garbage: 3 bytes after the 24 data bytes declared by dims [3, 2, 4]"`,
    );
  });

  it("absurd dims: a huge count in a small file is rejected without allocating it", () => {
    const huge = encodeIdx({ dtype: "float64", dims: [1], data: new Float64Array(1) });
    new DataView(huge.buffer).setUint32(4, 0xffffffff, false);
    expect(errorOf(file("huge.idx", huge))).toMatchInlineSnapshot(
      `": truncated: dims [4294967295] of float64 need 34359738360 data bytes, file has 8"`,
    );
    // Four dims of 2^32-1: the element count exceeds 2^53.
    const header = new Uint8Array(4 + 16);
    header.set([0, 0, 0x08, 4]);
    header.fill(0xff, 4);
    expect(errorOf(file("overflow.idx", header))).toMatchInlineSnapshot(
      `": absurd IDX dims: the element count overflows at dim 1 (4294967295)"`,
    );
  });

  it("zero dims", () => {
    expect(errorOf(file("zero-dims.idx", new Uint8Array([0, 0, 8, 0])))).toMatchInlineSnapshot(
      `": IDX header declares 0 dimensions"`,
    );
  });

  it("corrupt gzip stream", () => {
    const gz = zlib.gzipSync(good);
    expect(errorOf(file("corrupt.gz", gz.subarray(0, gz.length - 12)))).toMatchInlineSnapshot(
      `": corrupt gzip data: unexpected end of file"`,
    );
  });

  it("gzip bomb: decompression is capped", () => {
    const p = file("bomb.gz", zlib.gzipSync(new Uint8Array(1 << 20)));
    expect(() => readIdx(p, { maxBytes: 10_000 })).toThrow(
      `${p}: decompresses to more than the limit of 10000 bytes`,
    );
  });

  it("missing file", () => {
    const p = path.join(dir, "nope.idx");
    expect(errorOf(p)).toMatch(/^: cannot read: ENOENT/);
  });
});
