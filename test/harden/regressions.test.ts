/**
 * Regression tests for the loader faults the fuzzers found (each named in the report of
 * issue 7): the smallest input that showed the fault, and the bound it broke.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DataError, loadCifar10 } from "../../src/data/index.js";
import { decodeModel, ModelFormatError } from "../../src/engine/index.js";

/** A .onebit file whose header is `text` (valid prefix, nothing after the header). */
function onebitWithHeader(text: string): Uint8Array {
  const header = new TextEncoder().encode(text);
  const bytes = new Uint8Array(16 + header.length);
  bytes.set([0x89, 0x4f, 0x4e, 0x45, 0x42, 0x49, 0x54, 0x0a]);
  const view = new DataView(bytes.buffer);
  view.setUint16(8, 1, true);
  view.setUint32(12, header.length, true);
  bytes.set(header, 16);
  return bytes;
}

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

/** Time and heap growth of one call (heapUsed + arrayBuffers, the result still alive). */
function measure(f: () => unknown): { ms: number; bytes: number; error: unknown } {
  const before = process.memoryUsage();
  const t0 = performance.now();
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  return { ms, bytes: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers, error };
}

describe(".onebit header nesting (fuzz: 27x the file size allocated, seconds to reject)", () => {
  it("an 8 MB header of nested brackets is rejected at once, before JSON.parse", () => {
    const bytes = onebitWithHeader(nested(4_000_000));
    const r = measure(() => decodeModel(bytes, "deep.onebit"));
    expect(r.error).toBeInstanceOf(ModelFormatError);
    expect((r.error as Error).message).toBe("deep.onebit: header JSON nests deeper than 40 levels");
    // Before the fix: 8.4 s and ~250 MB of arrays. The scan is linear and allocates nothing
    // beyond the decoded header text (2 bytes per character).
    expect(r.ms).toBeLessThan(1000);
    expect(r.bytes).toBeLessThan(4 * bytes.length + (4 << 20));
  });

  it("brackets inside strings do not count, and 40 levels still parse", () => {
    const inString = onebitWithHeader(JSON.stringify({ name: "[".repeat(1000) }));
    expect(() => decodeModel(inString, "s.onebit")).toThrow(/s\.onebit: (?!header JSON nests)/);
    const ok = onebitWithHeader(`{"metadata":${nested(39)}}`);
    expect(() => decodeModel(ok, "m.onebit")).toThrow(/m\.onebit: (?!header JSON nests)/);
  });
});

describe("CIFAR-10 folder (review: a batch that cannot be read gave Node's bare EISDIR)", () => {
  it("an unreadable batch file is a DataError naming it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-cifar-"));
    try {
      const record = fs.readFileSync(path.join(import.meta.dirname, "seeds/cifar.bin"));
      for (const f of ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin"]) {
        fs.writeFileSync(path.join(dir, f), record);
      }
      fs.writeFileSync(path.join(dir, "test_batch.bin"), record);
      fs.mkdirSync(path.join(dir, "data_batch_5.bin"));
      const file = path.join(dir, "data_batch_5.bin");
      expect(() => loadCifar10(dir)).toThrow(DataError);
      expect(() => loadCifar10(dir)).toThrow(
        `${file}: cannot read: EISDIR: illegal operation on a directory, read`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
