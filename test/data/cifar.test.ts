import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, parseCifar10 } from "../../src/data/cifar.js";
import { DataError } from "../../src/data/errors.js";
import { loadDataset } from "../../src/data/load.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-cifar-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The generator's pixel for (global record r, channel c, position p = y * 32 + x). */
const pixel = (r: number, c: number, p: number): number => (r * 7 + c * 50 + p * 3) % 256;
const labelOf = (r: number): number => (r * 3) % 10;

/** A batch file of `n` records numbered from `first`, in the official CHW layout. */
function batch(first: number, n: number): Uint8Array {
  const out = new Uint8Array(n * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const at = i * CIFAR10_RECORD_BYTES;
    out[at] = labelOf(r);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[at + 1 + c * 1024 + p] = pixel(r, c, p);
  }
  return out;
}

/** A folder with 5 training batches of `perBatch` records and a test batch of 2. */
function cifarFolder(name: string, perBatch = 3, meta?: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (let b = 0; b < 5; b++)
    fs.writeFileSync(path.join(dir, `data_batch_${b + 1}.bin`), batch(b * perBatch, perBatch));
  fs.writeFileSync(path.join(dir, "test_batch.bin"), batch(1000, 2));
  if (meta !== undefined) fs.writeFileSync(path.join(dir, "batches.meta.txt"), meta);
  return dir;
}

describe("CIFAR-10 binary", () => {
  it("loads all batches and converts CHW records to NHWC", async () => {
    const d = await loadDataset("cifar10", { dataDir: cifarFolder("good") });
    expect(d.train.count).toBe(15);
    expect(d.test.count).toBe(2);
    expect([d.train.height, d.train.width, d.train.channels]).toEqual([32, 32, 3]);
    expect(d.classes).toEqual(CIFAR10_CLASSES);
    for (const [split, first] of [
      [d.train, 0],
      [d.test, 1000],
    ] as const) {
      for (let n = 0; n < split.count; n++) {
        expect(split.labels[n]).toBe(labelOf(first + n));
        for (const p of [0, 1, 31, 32, 555, 1023]) {
          for (let c = 0; c < 3; c++) expect(split.images[n * 3072 + p * 3 + c]).toBe(pixel(first + n, c, p));
        }
      }
    }
  });

  it("reads class names from batches.meta.txt, and finds the unpacked subfolder", async () => {
    const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    const outer = path.join(tmp, "archive");
    cifarFolder("archive/cifar-10-batches-bin", 1, `${names.join("\n")}\n\n`);
    const d = await loadDataset("cifar10", { dataDir: outer, limitTrain: 2 });
    expect(d.classes).toEqual(names);
    expect(d.train.classes).toEqual(names);
    expect(d.train.count).toBe(2);
  });

  it("rejects a meta file that does not name 10 classes", async () => {
    const dir = cifarFolder("badmeta", 1, "cat\ndog\n");
    await expect(loadDataset("cifar10", { dataDir: dir })).rejects.toThrow(
      `${dir}/batches.meta.txt: expected 10 class names, one per line, found 2`,
    );
  });

  it("rejects a truncated batch, naming the file and the record size", async () => {
    const dir = cifarFolder("truncated");
    const f = path.join(dir, "data_batch_4.bin");
    fs.writeFileSync(f, batch(0, 3).subarray(0, 2 * CIFAR10_RECORD_BYTES + 100));
    const err = await loadDataset("cifar10", { dataDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.file).toBe(f);
    expect(err.message).toBe(
      `${f}: size 6246 is not a positive multiple of the CIFAR-10 record size 3073 (1 label byte + 3x32x32 pixels): ` +
        "truncated, or not a CIFAR-10 binary batch",
    );
  });

  it("rejects a label outside the classes", () => {
    const bytes = batch(0, 2);
    bytes[CIFAR10_RECORD_BYTES] = 10;
    expect(() => parseCifar10([{ file: "x.bin", bytes }], "t")).toThrow(
      "x.bin: record 1 has label 10, outside [0, 10)",
    );
  });

  it("names a missing batch, and asks for --data-dir when none is given", async () => {
    const dir = cifarFolder("missing");
    fs.rmSync(path.join(dir, "data_batch_5.bin"));
    await expect(loadDataset("cifar10", { dataDir: dir })).rejects.toThrow(
      `${dir}/data_batch_5.bin: missing.`,
    );
    await expect(loadDataset("cifar10")).rejects.toThrow(/^cifar10: no data folder: .*--data-dir/);
  });
});
