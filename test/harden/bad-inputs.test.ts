/**
 * Bad data and bad inputs get clear errors, before any work where possible: labels out of
 * range, image/label count mismatch, NaN or Inf in images, the wrong input shape or dtype
 * for a model, in the data loaders, the engine's predict and the trainer.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataError,
  IDX_FILES,
  type IdxArray,
  loadIdxFolder,
  MNIST_CLASSES,
  parseCifar10,
  writeIdx,
} from "../../src/data/index.js";
import { Engine, InputRangeError } from "../../src/engine/index.js";

const seeds = path.join(import.meta.dirname, "seeds");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-bad-inputs-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A folder of the four MNIST IDX files (4x4 images), with `edit` applied to the arrays first. */
function idxFolder(name: string, edit: (files: Record<string, IdxArray>) => void = () => {}): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const images = (n: number): IdxArray => ({ dtype: "uint8", dims: [n, 4, 4], data: new Uint8Array(n * 16) });
  const labels = (n: number): IdxArray => ({
    dtype: "uint8",
    dims: [n],
    data: Uint8Array.from({ length: n }, (_, i) => i % 10),
  });
  const files: Record<string, IdxArray> = {
    [IDX_FILES.trainImages]: images(6),
    [IDX_FILES.trainLabels]: labels(6),
    [IDX_FILES.testImages]: images(3),
    [IDX_FILES.testLabels]: labels(3),
  };
  edit(files);
  for (const [stem, array] of Object.entries(files)) writeIdx(path.join(dir, stem), array);
  return dir;
}

function dataErrorOf(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error("expected a DataError");
}

describe("data loaders", () => {
  it("a label out of range names the labels file, the item and the range", () => {
    const dir = idxFolder("label", (f) => {
      f[IDX_FILES.trainLabels]!.data[4] = 10;
    });
    const e = dataErrorOf(() => loadIdxFolder(dir, "mnist", MNIST_CLASSES));
    expect(e.file).toBe(path.join(dir, IDX_FILES.trainLabels));
    expect(e.message).toBe(
      `${path.join(dir, IDX_FILES.trainLabels)}: mnist/train: label 10 of item 4 is outside [0, 10)`,
    );
  });

  it("a label out of range in a CIFAR batch names the file and the record", () => {
    const bytes = fs.readFileSync(path.join(seeds, "cifar.bin"));
    bytes[3073] = 200;
    const e = dataErrorOf(() => parseCifar10([{ file: "b.bin", bytes }], "cifar10/test"));
    expect(e.message).toBe("b.bin: record 1 has label 200, outside [0, 10)");
  });

  it("an image/label count mismatch names both files and both counts", () => {
    const dir = idxFolder("count", (f) => {
      f[IDX_FILES.testLabels] = { dtype: "uint8", dims: [2], data: Uint8Array.of(0, 1) };
    });
    const e = dataErrorOf(() => loadIdxFolder(dir, "mnist", MNIST_CLASSES));
    expect(e.message).toBe(
      `${path.join(dir, IDX_FILES.testLabels)}: count mismatch: 2 labels, but ${path.join(dir, IDX_FILES.testImages)} holds 3 images`,
    );
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "float32 images holding %s are rejected, naming the image and value",
    (bad) => {
      const dir = idxFolder(`float-${bad}`, (f) => {
        const data = new Float32Array(3 * 16);
        data[2 * 16 + 5] = bad;
        f[IDX_FILES.testImages] = { dtype: "float32", dims: [3, 4, 4], data };
        f[IDX_FILES.trainImages] = { dtype: "float32", dims: [6, 4, 4], data: new Float32Array(6 * 16) };
      });
      const e = dataErrorOf(() => loadIdxFolder(dir, "mnist", MNIST_CLASSES));
      expect(e.message).toBe(`mnist/test: image 2 holds ${bad} at value 5`);
    },
  );

  it("images of the wrong dtype or rank name the file", () => {
    const dir = idxFolder("dtype", (f) => {
      f[IDX_FILES.trainImages] = { dtype: "int16", dims: [6, 4, 4], data: new Int16Array(96) };
    });
    expect(dataErrorOf(() => loadIdxFolder(dir, "mnist", MNIST_CLASSES)).message).toBe(
      `${path.join(dir, IDX_FILES.trainImages)}: images must be uint8 or float32, got int16`,
    );
  });
});

describe("engine predict", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(new Uint8Array(fs.readFileSync(path.join(seeds, "mlp.onebit"))), {
      backend: "ref",
    });
  });
  afterAll(() => engine.dispose());

  it("runs a valid batch (the control)", () => {
    const p = engine.predict(new Float32Array(2 * engine.imageSize).fill(127.5));
    expect(p.batch).toBe(2);
    expect(p.scores.every(Number.isFinite)).toBe(true);
  });

  it("rejects pixels scaled to 0..1 for this model, which maps raw pixels 0..255", () => {
    expect(() => engine.predict(new Float32Array(2 * engine.imageSize).fill(0.5))).toThrow(InputRangeError);
  });

  it("rejects a length that is not a whole number of images, naming the input shape", () => {
    expect(() => engine.predict(new Uint8Array(engine.imageSize + 1))).toThrow(
      `Engine.predict: ${engine.imageSize + 1} values is not a whole number of [18, 18, 1] images (324 values each)`,
    );
    expect(() => engine.predict(new Uint8Array(0))).toThrow(/not a whole number/);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "rejects %s in the input, naming the image and value",
    (bad) => {
      const x = new Float32Array(3 * 324);
      x[324 + 7] = bad;
      expect(() => engine.predict(x)).toThrow(
        `Engine.predict: image 1 holds ${bad} at value 7; inputs must be finite numbers`,
      );
    },
  );

  it("rejects a wrong dtype: strings or nested arrays instead of numbers", () => {
    const strings = Array.from({ length: 324 }, () => "1") as unknown as number[];
    expect(() => engine.predict(strings)).toThrow("image 0 holds a string at value 0");
    const nested = Array.from({ length: 324 }, () => [0]) as unknown as number[];
    expect(() => engine.predict(nested)).toThrow("image 0 holds a object at value 0");
  });
});
