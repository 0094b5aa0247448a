// Knowledge distillation (--teacher): a float bnn-cnn teacher trained for one epoch on a
// 2,000-image MNIST slice teaches binary students; resume with a teacher is byte-identical
// to an uninterrupted run; a missing, mismatched or different teacher is refused by name.
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { register as registerTrain } from "../../src/cli/commands/train.js";
import { type DataSplits, loadDataset } from "../../src/data/index.js";
import { buildModel } from "../../src/nn/build.js";
import { builderSpec } from "../../src/nn/builders.js";
import {
  modelOfCheckpoint,
  readCheckpoint,
  snapshotTensors,
  writeCheckpoint,
} from "../../src/nn/checkpoint.js";
import { createContext } from "../../src/tensor/index.js";
import { modelHash } from "../../src/train/distill.js";
import { CHECKPOINT_FILE, type TrainConfig, type TrainRun, train } from "../../src/train/trainer.js";
import { Random } from "../../src/util/random.js";
import { runCli } from "../cliHarness.js";

const tmp = () => mkdtemp(path.join(os.tmpdir(), "onebit-distill-"));

let mnist2k: DataSplits;
let mnist600: DataSplits;
/** A float bnn-cnn trained for one epoch on mnist2k. */
let teacherFile: string;

beforeAll(async () => {
  mnist2k = await loadDataset("mnist", { limitTrain: 2000, limitTest: 1000 });
  mnist600 = await loadDataset("mnist", { limitTrain: 600, limitTest: 200 });
  const dir = await tmp();
  const ctx = await createContext("wasm");
  const r = await train({
    ctx,
    data: mnist2k,
    outDir: dir,
    progress: "quiet",
    config: {
      model: { builder: "bnn-cnn", options: { float: true } },
      epochs: 1,
      batchSize: 64,
      lr: 3e-3,
    },
  });
  expect(r.testAccuracy).toBeGreaterThan(0.6);
  r.model.dispose();
  teacherFile = path.join(dir, CHECKPOINT_FILE);
});

afterEach(() => vi.restoreAllMocks());

describe("distillation from a float teacher", () => {
  it("a binary bnn-cnn distilled from the teacher trains, with a finite loss history", async () => {
    const ctx = await createContext("wasm");
    const dir = await tmp();
    const r = await train({
      ctx,
      data: mnist2k,
      outDir: dir,
      teacher: teacherFile,
      progress: "quiet",
      config: { model: { builder: "bnn-cnn", options: {} }, epochs: 1, batchSize: 64, lr: 1e-2 },
    });
    // Chance is 10%.
    expect(r.testAccuracy).toBeGreaterThan(0.4);
    for (const h of r.history) {
      for (const v of [h.trainLoss, h.trainAccuracy, h.testLoss, h.testAccuracy]) {
        expect(Number.isFinite(v)).toBe(true);
      }
    }
    r.model.dispose();
    // The checkpoint records the teacher (file, name, content hash) and the settings.
    const ck = await readCheckpoint(path.join(dir, CHECKPOINT_FILE));
    const teacherModel = modelOfCheckpoint(ctx, await readCheckpoint(teacherFile), teacherFile);
    expect(ck.state.teacher).toEqual({ file: teacherFile, name: "bnn-cnn", hash: modelHash(teacherModel) });
    expect(ck.state.teacher).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((ck.state.train as TrainConfig).distillation).toEqual({ weight: 1, temperature: 1 });
    teacherModel.dispose();
  });
});

describe("resume with a teacher", () => {
  const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
    model: { builder: "bnn-mlp", options: { width: 32, dropout: 0.1 } },
    epochs: 2,
    batchSize: 50,
    lr: 3e-3,
    distillation: { weight: 0.5, temperature: 2 },
    ...over,
  });
  async function run(outDir: string, over: Partial<TrainRun> = {}, maxEpochsThisRun?: number) {
    const ctx = await createContext("wasm");
    const r = await train({
      ctx,
      data: mnist600,
      config: config(),
      outDir,
      teacher: teacherFile,
      maxEpochsThisRun,
      progress: "quiet",
      ...over,
    });
    r.model.dispose();
    return { r, bytes: readFileSync(path.join(outDir, CHECKPOINT_FILE)) };
  }

  it("is byte-identical to an uninterrupted run, and needs the same teacher", async () => {
    const whole = await run(await tmp());
    expect(whole.r.history.every((h) => Number.isFinite(h.trainLoss))).toBe(true);
    const dir = await tmp();
    await run(dir, {}, 1);
    const resumed = await run(dir, { resume: true });
    expect(resumed.r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(Buffer.compare(whole.bytes, resumed.bytes)).toBe(0);
    // Distillation changes the run: without the teacher the checkpoint differs.
    const plain = await run(await tmp(), { teacher: undefined, config: config({ distillation: undefined }) });
    expect(Buffer.compare(whole.bytes, plain.bytes)).not.toBe(0);

    // Without a teacher, or with another one, resume is refused.
    const ctx = await createContext("wasm");
    await expect(
      train({ ctx, data: mnist600, config: config(), outDir: dir, resume: true, progress: "quiet" }),
    ).rejects.toThrow(
      /last\.ckpt: was distilled from the teacher .*last\.ckpt \('bnn-cnn', sha256 [0-9a-f]{12}\); pass the same teacher/,
    );
    const other = modelOfCheckpoint(ctx, await readCheckpoint(teacherFile), teacherFile);
    const same = {
      ctx,
      data: mnist600,
      config: config(),
      outDir: dir,
      resume: true,
      progress: "quiet",
    } as const;
    // The same content as a live Model is the same teacher (nothing left to train: epoch 2 of 2).
    const again = await train({ ...same, teacher: other });
    expect(again.history).toHaveLength(2);
    again.model.dispose();
    const [, weights] = [...other.namedTensors()][0]!;
    weights.data[0] = -weights.data[0]!;
    await expect(train({ ...same, teacher: other })).rejects.toThrow(
      /was distilled from the teacher .*last\.ckpt \('bnn-cnn', sha256 [0-9a-f]{12}\); the teacher given, model 'bnn-cnn' \(sha256 [0-9a-f]{12}\), differs: resume with the same teacher/,
    );
    other.dispose();
  });

  it("refuses a teacher for a run trained without one", async () => {
    const dir = await tmp();
    await run(dir, { teacher: undefined, config: config({ distillation: undefined, epochs: 1 }) });
    await expect(run(dir, { resume: true, config: config({ epochs: 2 }) })).rejects.toThrow(
      /last\.ckpt: was trained without a teacher, cannot resume it distilled from .*last\.ckpt/,
    );
  });
});

describe("teacher errors", () => {
  const config: TrainConfig = {
    model: { builder: "bnn-mlp", options: { width: 16 } },
    epochs: 1,
    batchSize: 50,
    lr: 1e-3,
  };
  const attempt = async (teacher: TrainRun["teacher"], over: Partial<TrainRun> = {}) =>
    train({ ctx: await createContext("wasm"), data: mnist600, config, teacher, progress: "quiet", ...over });

  /** A checkpoint of an untrained bnn-mlp for other images or classes. */
  async function foreignTeacher(options: Record<string, unknown>): Promise<string> {
    const ctx = await createContext("wasm");
    const spec = builderSpec({ builder: "bnn-mlp", options: { width: 8, ...options } });
    const model = buildModel(ctx, spec, new Random(0));
    const file = path.join(await tmp(), "teacher.ckpt");
    await writeCheckpoint(file, {
      spec,
      epoch: 0,
      state: {},
      tensors: snapshotTensors(model.namedTensors()),
    });
    model.dispose();
    return file;
  }

  it("names a missing teacher file", async () => {
    const missing = path.join(await tmp(), "nope.ckpt");
    await expect(attempt(missing)).rejects.toThrow(`${missing}: cannot read checkpoint`);
  });

  it("names a teacher whose input shape, classes or data set differ from the data's", async () => {
    const wide = await foreignTeacher({ inputShape: [32, 32, 3], classes: 10 });
    await expect(attempt(wide)).rejects.toThrow(
      `${wide}: the teacher ('bnn-mlp') takes images [32, 32, 3], the mnist data set has [28, 28, 1]`,
    );
    const five = await foreignTeacher({ inputShape: [28, 28, 1], classes: 5 });
    await expect(attempt(five)).rejects.toThrow(
      `${five}: the teacher ('bnn-mlp') outputs 5 values, the mnist data set has 10 classes`,
    );
    await expect(attempt(teacherFile, { data: { ...mnist600, name: "fashion-mnist" } })).rejects.toThrow(
      `${teacherFile}: the teacher ('bnn-cnn') was trained on 'mnist', cannot teach on 'fashion-mnist'`,
    );
  });

  it("checks the settings and the teacher's Context", async () => {
    await expect(
      attempt(teacherFile, { config: { ...config, distillation: { weight: 1.5 } } }),
    ).rejects.toThrow(/distillation weight must be in \[0, 1\], got 1.5/);
    await expect(
      attempt(teacherFile, { config: { ...config, distillation: { temperature: 0 } } }),
    ).rejects.toThrow(/temperature must be a positive number, got 0/);
    await expect(
      attempt(undefined, { config: { ...config, distillation: { weight: 0.5 } } }),
    ).rejects.toThrow(/need a teacher/);
    const elsewhere = await createContext("ref");
    const model = modelOfCheckpoint(elsewhere, await readCheckpoint(teacherFile), teacherFile);
    await expect(attempt(model)).rejects.toThrow(/teacher model 'bnn-cnn' lives on another Context/);
    model.dispose();
  });
});

describe("onebit train --teacher", () => {
  it("distills from the checkpoint with --kd-weight and --kd-temperature, documented in the help", async () => {
    const dir = await tmp();
    const args = ["--model", "bnn-mlp", "--width", "16", "--dataset", "mnist", "--epochs", "1"];
    const limits = ["--limit-train", "500", "--limit-test", "200", "--out", dir, "--json"];
    const kd = ["--teacher", teacherFile, "--kd-weight", "0.7", "--kd-temperature", "3"];
    const { out } = await runCli([registerTrain], ["train", ...args, ...limits, ...kd]);
    expect(JSON.parse(out).epochs).toBe(1);
    const ck = await readCheckpoint(path.join(dir, CHECKPOINT_FILE));
    expect((ck.state.train as TrainConfig).distillation).toEqual({ weight: 0.7, temperature: 3 });
    expect(ck.state.teacher).toMatchObject({ file: teacherFile, name: "bnn-cnn" });

    await expect(
      runCli([registerTrain], ["train", ...args, ...limits, "--kd-weight", "0.5"]),
    ).rejects.toThrow("--kd-weight and --kd-temperature need --teacher CHECKPOINT");
    const program = new Command();
    registerTrain(program);
    const help = program.commands.find((c) => c.name() === "train")!.helpInformation();
    for (const option of ["--teacher <ckpt>", "--kd-weight <a>", "--kd-temperature <t>"]) {
      expect(help).toContain(option);
    }
  });
});
