import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type DataSplits, loadDataset } from "../../src/data/index.js";
import { builderSpec } from "../../src/nn/builders.js";
import { readCheckpoint } from "../../src/nn/checkpoint.js";
import { createContext } from "../../src/tensor/index.js";
import { CHECKPOINT_FILE, type TrainConfig, train } from "../../src/train/trainer.js";

let mnist5k: DataSplits;
let mnist1k: DataSplits;
beforeAll(async () => {
  // The full test set: its first items are harder than the rest, so a prefix would mislead.
  mnist5k = await loadDataset("mnist", { limitTrain: 5000 });
  mnist1k = await loadDataset("mnist", { limitTrain: 600, limitTest: 200 });
});

const tmp = () => mkdtemp(path.join(os.tmpdir(), "onebit-train-"));

describe("training a binary MLP", () => {
  it("reaches > 90% test accuracy on a 5,000-image MNIST slice", async () => {
    const ctx = await createContext("wasm");
    const r = await train({
      ctx,
      data: mnist5k,
      config: { model: { builder: "bnn-mlp", options: { width: 256 } }, epochs: 4, batchSize: 100, lr: 3e-3 },
      progress: "quiet",
    });
    expect(r.testAccuracy).toBeGreaterThan(0.9);
    expect(r.bestTestAccuracy).toBeGreaterThanOrEqual(r.testAccuracy);
    expect(r.history).toHaveLength(4);
    // Latent binary weights stay clipped to [-1, 1]; some flip each epoch, fewer later.
    for (const p of r.model.params().filter((q) => q.binary)) {
      expect(p.tensor.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThanOrEqual(1);
    }
    expect(r.history[0]!.flipRatio).toBeGreaterThan(0);
    expect(r.history[3]!.flipRatio).toBeLessThan(r.history[0]!.flipRatio);
    // width 256: binary weights 784*256 (first layer, 'bwn' by default) and 256*256*2; float
    // 256*10 (last layer) and BN gamma/beta.
    expect(r.params.binary).toBe(784 * 256 + 2 * 256 * 256);
    expect(r.params.float).toBe(256 * 10 + 2 * (3 * 256 + 10));
    r.model.dispose();
  });
});

describe("checkpoints", () => {
  const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
    model: { builder: "bnn-mlp", options: { width: 32, dropout: 0.1 } },
    epochs: 3,
    batchSize: 50,
    lr: 3e-3,
    ...over,
  });

  async function run(
    outDir: string,
    over: Partial<TrainConfig> = {},
    maxEpochsThisRun?: number,
    resume = false,
  ) {
    const ctx = await createContext("wasm");
    const r = await train({
      ctx,
      data: mnist1k,
      config: config(over),
      outDir,
      resume,
      maxEpochsThisRun,
      progress: "quiet",
    });
    r.model.dispose();
    return { r, bytes: readFileSync(path.join(outDir, CHECKPOINT_FILE)) };
  }

  it("same seed and data give byte-identical checkpoints; another seed does not", async () => {
    const a = await run(await tmp());
    const b = await run(await tmp());
    const c = await run(await tmp(), { seed: 1 });
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    expect(Buffer.compare(a.bytes, c.bytes)).not.toBe(0);
  });

  it("resume of a graph model (a spec written as code) equals uninterrupted training", async () => {
    const spec = builderSpec({ builder: "reactnet", options: { width: 8, stages: [1, 1] } });
    const model = JSON.parse(JSON.stringify(spec));
    const whole = await run(await tmp(), { model, epochs: 2 });
    const dir = await tmp();
    await run(dir, { model, epochs: 2 }, 1);
    const resumed = await run(dir, { model, epochs: 2 }, undefined, true);
    expect(resumed.r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(Buffer.compare(whole.bytes, resumed.bytes)).toBe(0);
    const ck = await readCheckpoint(path.join(dir, CHECKPOINT_FILE));
    expect(ck.model).toBeUndefined();
    expect(ck.spec.layers.map((l) => l.name)).toContain("stage2_block1_rprelu");
    // Resuming it as another model is refused.
    await expect(run(dir, { epochs: 3 }, undefined, true)).rejects.toThrow(/holds a model written as code/);
  });

  it("bnCalibration recomputes batch-norm statistics after each epoch (residual nets evaluate as they train)", async () => {
    const model = { builder: "birealnet" as const, options: { width: 8, stages: [1, 1] } };
    const plain = await run(await tmp(), { model, epochs: 1 });
    const calibrated = await run(await tmp(), { model, epochs: 1, bnCalibration: 600 });
    // The same training steps: only the statistics (and so the test pass) differ.
    expect(calibrated.r.history[0]!.trainLoss).toBe(plain.r.history[0]!.trainLoss);
    expect(calibrated.r.testAccuracy).toBeGreaterThan(plain.r.testAccuracy + 0.05);
  });

  it("resume equals uninterrupted training (Adam, SGD and Bop)", async () => {
    for (const optimizer of ["adam", "sgd", "bop"] as const) {
      const whole = await run(await tmp(), { optimizer });
      const dir = await tmp();
      const first = await run(dir, { optimizer }, 1);
      expect(first.r.history).toHaveLength(1);
      const resumed = await run(dir, { optimizer }, undefined, true);
      expect(resumed.r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      expect(Buffer.compare(whole.bytes, resumed.bytes)).toBe(0);
    }
  });

  it("stores config, latent weights, BN statistics, optimizer state and RNG state under stable names", async () => {
    const dir = await tmp();
    await run(dir, { epochs: 1 });
    const ck = await readCheckpoint(path.join(dir, CHECKPOINT_FILE));
    expect(ck.model!.builder).toBe("bnn-mlp");
    expect(ck.model!.options).toMatchObject({ width: 32, inputShape: [28, 28, 1], classes: 10 });
    expect(ck.epoch).toBe(1);
    expect(ck.spec.layers.map((l) => l.name).slice(0, 5)).toEqual([
      "flatten_1",
      "quant_dense_1",
      "batch_norm_1",
      "dropout_1",
      "quant_dense_2",
    ]);
    expect(ck.spec.layers[4]!.config).toMatchObject({ inputQuantizer: { name: "ste_sign" }, kernelClip: 1 });
    expect(ck.tensors.get("quant_dense_1.kernel")?.shape).toEqual([32, 784]);
    expect(ck.tensors.get("batch_norm_1.runningVar")?.shape).toEqual([32]);
    expect(ck.tensors.get("optimizer.m.quant_dense_2.kernel")?.shape).toEqual([32, 32]);
    expect(ck.state).toHaveProperty("rng");
    expect(ck.state).toHaveProperty("batches");
    expect((ck.state.history as unknown[]).length).toBe(1);
  });

  it("refuses to resume on another data set", async () => {
    const dir = await tmp();
    await run(dir, { epochs: 1 });
    const ctx = await createContext("wasm");
    const other = { ...mnist1k, name: "fashion-mnist" };
    await expect(
      train({ ctx, data: other, config: config(), outDir: dir, resume: true, progress: "quiet" }),
    ).rejects.toThrow(/trained on 'mnist', cannot resume on 'fashion-mnist'/);
  });
});
