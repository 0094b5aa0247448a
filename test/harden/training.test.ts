/**
 * The trainer under bad conditions: bad data is refused before the first step; a NaN or Inf
 * loss stops training naming the step and the first non-finite layer, without touching the
 * last good checkpoint; an abort (the CLI's Ctrl-C) stops after a consistent checkpoint; an
 * output folder that cannot be written is an error before any training.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError, type DataSplits, type Dataset } from "../../src/data/index.js";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/nn/checkpointFormat.js";
import { type Context, createContext } from "../../src/tensor/index.js";
import { CHECKPOINT_FILE, type TrainConfig, type TrainRun, train } from "../../src/train/index.js";
import { TrainingDivergedError } from "../../src/train/numerics.js";

let ctx: Context;
let tmp: string;
beforeAll(async () => {
  ctx = await createContext("ref");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-harden-train-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** n images of side x side x 1 bytes, class k lighting pixel k (learnable, tiny). */
function dataset(name: string, n: number, side = 6): Dataset {
  const size = side * side;
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const images = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) images[i * size + labels[i]!] = 255;
  return {
    name,
    images,
    labels,
    count: n,
    height: side,
    width: side,
    channels: 1,
    classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  };
}

function splits(
  train: Dataset = dataset("tiny/train", 40),
  test: Dataset = dataset("tiny/test", 10),
): DataSplits {
  return {
    name: "tiny",
    train,
    test,
    classes: train.classes,
    preprocessing: { scale: 1 / 127.5, offset: -1 },
  };
}

const config = (o: Partial<TrainConfig> = {}): TrainConfig => ({
  model: { builder: "bnn-mlp", options: { width: 8, depth: 1 } },
  epochs: 3,
  batchSize: 10,
  lr: 1e-2,
  seed: 5,
  ...o,
});

function run(o: Partial<TrainRun> & { outDir?: string }): Promise<Awaited<ReturnType<typeof train>>> {
  return train({ ctx, data: splits(), config: config(), progress: "quiet", ...o });
}

function outDir(name: string): string {
  return path.join(tmp, name);
}

describe("bad data is refused before the first step", () => {
  const refuses = async (data: DataSplits, message: string) => {
    const dir = outDir(`bad-${Math.random().toString(36).slice(2)}`);
    let epochs = 0;
    const err = await run({ data, outDir: dir, onEpoch: () => epochs++ }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(message);
    expect(epochs).toBe(0);
    expect(fs.existsSync(path.join(dir, CHECKPOINT_FILE))).toBe(false);
  };

  it("a label out of range", async () => {
    const train = dataset("tiny/train", 40);
    train.labels[13] = 10;
    await refuses(splits(train), "tiny/train: label 10 of item 13 is outside [0, 10)");
  });

  it("an image/label count mismatch", async () => {
    const test = dataset("tiny/test", 10);
    test.labels = test.labels.slice(0, 9);
    await refuses(splits(undefined, test), "tiny/test: 10 images but 9 labels");
  });

  it("NaN or Inf in float images", async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const train = dataset("tiny/train", 40);
      const images = Float32Array.from(train.images);
      images[3 * 36 + 4] = bad;
      await refuses(splits({ ...train, images }), `tiny/train: image 3 holds ${bad} at value 4`);
    }
  });

  it("images of another shape than the resumed model's input", async () => {
    const dir = outDir("shape");
    await run({ outDir: dir, maxEpochsThisRun: 1 });
    const other = splits(dataset("tiny/train", 40, 5), dataset("tiny/test", 10, 5));
    const err = await run({ data: other, outDir: dir, resume: true }).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe(
      `tiny/train: images are [5, 5, 1], the model in ${path.join(dir, CHECKPOINT_FILE)} takes [6, 6, 1]`,
    );
  });
});

describe("a NaN or Inf loss stops training", () => {
  it("names the epoch, the step and the first non-finite layer; the last checkpoint stays", async () => {
    const dir = outDir("nan");
    await run({ outDir: dir, maxEpochsThisRun: 1 });
    const file = path.join(dir, CHECKPOINT_FILE);
    // Poison the last batch norm's scale (a NaN before a binary layer would be binarized
    // away): the resumed run's first step computes a NaN loss.
    const ck = decodeCheckpoint(new Uint8Array(fs.readFileSync(file)), file);
    const bn = ck.spec.layers[4]!.name;
    ck.tensors.get(`${bn}.gamma`)!.data[1] = Number.NaN;
    const poisoned = encodeCheckpoint(ck);
    fs.writeFileSync(file, poisoned);
    const err = await run({ outDir: dir, resume: true }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err.message).toBe(
      `training diverged at epoch 2, step 1: the loss is NaN; first non-finite: layer '${bn}' (batch_norm): 1 non-finite values in its gamma. Try a lower learning rate; ${file} keeps the last good epoch.`,
    );
    expect(Buffer.compare(fs.readFileSync(file), poisoned)).toBe(0);
  });

  it("an exploding learning rate: the last good epoch's checkpoint is left byte for byte", async () => {
    const explode = config({ schedule: "exponential", decay: 1e38, lr: 1e-2, epochs: 4 });
    const dir = outDir("explode");
    const err = await run({ outDir: dir, config: explode }).catch((e) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err.message).toMatch(
      /^training diverged at epoch [234], step \d+: the loss is (NaN|-?Infinity); first non-finite: layer '\w+' /,
    );
    // The same run stopped one epoch earlier wrote exactly the file the diverged run left.
    const good = outDir("explode-good");
    await run({ outDir: good, config: explode, maxEpochsThisRun: err.epoch - 1 });
    const file = path.join(dir, CHECKPOINT_FILE);
    expect(Buffer.compare(fs.readFileSync(file), fs.readFileSync(path.join(good, CHECKPOINT_FILE)))).toBe(0);
    expect(decodeCheckpoint(new Uint8Array(fs.readFileSync(file)), file).epoch).toBe(err.epoch - 1);
  });
});

describe("stopping and unwritable output", () => {
  it("an aborted run stops after the epoch's checkpoint, and resuming ends identical", async () => {
    const ref = outDir("abort-ref");
    await run({ outDir: ref });
    const dir = outDir("abort");
    const controller = new AbortController();
    const r = await run({ outDir: dir, signal: controller.signal, onEpoch: () => controller.abort() });
    expect(r.stopped).toBe(true);
    expect(r.history.length).toBe(1);
    expect(decodeCheckpoint(new Uint8Array(fs.readFileSync(path.join(dir, CHECKPOINT_FILE)))).epoch).toBe(1);
    await run({ outDir: dir, resume: true });
    expect(
      Buffer.compare(
        fs.readFileSync(path.join(dir, CHECKPOINT_FILE)),
        fs.readFileSync(path.join(ref, CHECKPOINT_FILE)),
      ),
    ).toBe(0);
  });

  it("an output path under a file is a clear error before training", async () => {
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "x");
    let epochs = 0;
    const err = await run({ outDir: path.join(file, "out"), onEpoch: () => epochs++ }).catch((e) => e);
    expect(err.message).toMatch(
      new RegExp(`^${path.join(file, "out")}: cannot write checkpoints here \\(ENOTDIR`),
    );
    expect(epochs).toBe(0);
  });

  // Root ignores permission bits; the immutable attribute stops it (where chattr works).
  const lock = (dir: string): boolean => {
    try {
      if (process.getuid?.() === 0) execFileSync("chattr", ["+i", dir], { stdio: "ignore" });
      else fs.chmodSync(dir, 0o555);
      return true;
    } catch {
      return false;
    }
  };
  const unlock = (dir: string) => {
    if (process.getuid?.() === 0) execFileSync("chattr", ["-i", dir], { stdio: "ignore" });
    else fs.chmodSync(dir, 0o755);
  };

  it("a full disk fails the checkpoint write with a clear error; the previous checkpoint stays", async (t) => {
    // A 512 KiB tmpfs (root only; skipped elsewhere) filled up after the first checkpoint.
    const mnt = path.join(tmp, "small-fs");
    fs.mkdirSync(mnt);
    try {
      if (process.getuid?.() !== 0) throw new Error("not root");
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], { stdio: "ignore" });
    } catch {
      return t.skip();
    }
    try {
      const dir = path.join(mnt, "run");
      await run({ outDir: dir, maxEpochsThisRun: 1 });
      const file = path.join(dir, CHECKPOINT_FILE);
      const before = fs.readFileSync(file);
      const filler = fs.openSync(path.join(mnt, "filler"), "w");
      try {
        for (;;) fs.writeSync(filler, Buffer.alloc(4096));
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
      } finally {
        fs.closeSync(filler);
      }
      const err = await run({ outDir: dir, resume: true }).catch((e) => e);
      expect(err.message).toMatch(new RegExp(`^writing ${file} failed: ENOSPC`));
      expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
      expect(fs.readdirSync(dir)).toEqual([CHECKPOINT_FILE]);
    } finally {
      execFileSync("umount", [mnt], { stdio: "ignore" });
    }
  });

  it("an unwritable output folder is a clear error before training; its checkpoint stays", async (t) => {
    const dir = outDir("locked");
    await run({ outDir: dir, maxEpochsThisRun: 1 });
    const file = path.join(dir, CHECKPOINT_FILE);
    const before = fs.readFileSync(file);
    if (!lock(dir)) return t.skip();
    try {
      let epochs = 0;
      const err = await run({ outDir: dir, resume: true, onEpoch: () => epochs++ }).catch((e) => e);
      expect(err.message).toMatch(new RegExp(`^${dir}: cannot write checkpoints here \\((EACCES|EPERM)`));
      expect(epochs).toBe(0);
    } finally {
      unlock(dir);
    }
    expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
  });
});
