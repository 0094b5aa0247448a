import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { retrainSchedule } from "../../src/analysis/retrain.js";
import { planSensitivity } from "../../src/analysis/sensitivityPlan.js";
import { pairedDifference, summarize } from "../../src/analysis/stats.js";
import { checkpointLayers, weightLayers } from "../../src/analysis/variant.js";
import { loadCheckpoint } from "../../src/nn/checkpoint.js";
import { onebit, writeCheckpoint } from "./helpers.js";

let dir: string;
let floatFile: string;
const mlp = (options: Record<string, unknown>) => ({
  builder: "bnn-mlp",
  options: { width: 32, depth: 1, ...options },
});
const slice = ["--dataset", "mnist", "--limit-train", "256", "--limit-test", "300", "--calibration", "128"];
const schedule = { epochs: 1, batchSize: 64, lr: 0.002, schedule: "exponential", seed: 7 };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "onebit-sensitivity-retrain-"));
  floatFile = await writeCheckpoint(dir, "float", mlp({ float: true }), {
    dataset: "mnist",
    train: schedule,
  });
});

interface Result {
  layer: string;
  bits: number;
  accuracy: number;
  perSeed: number[];
  interval: [number, number] | null;
  delta: number;
  deltaInterval: [number, number] | null;
  beyondNoise: boolean | null;
}

describe("retrain mode", () => {
  it("takes the checkpoint's schedule; --epochs, --lr and --batch override it; no seed or teacher", async () => {
    const ck = await loadCheckpoint(floatFile);
    expect(retrainSchedule(ck, floatFile, {})).toEqual({
      epochs: 1,
      batchSize: 64,
      lr: 0.002,
      schedule: "exponential",
    });
    expect(retrainSchedule(ck, floatFile, { epochs: 3, lr: 0.01, batchSize: 32 })).toMatchObject({
      epochs: 3,
      lr: 0.01,
      batchSize: 32,
    });
    const bare = await writeCheckpoint(dir, "bare", mlp({ float: true }));
    const bareCk = await loadCheckpoint(bare);
    expect(() => retrainSchedule(bareCk, bare, { epochs: 1 })).toThrow(
      /bare\.ckpt: the checkpoint stores no training settings \(state\.train\); retraining needs --epochs and --lr/,
    );
  });

  it("2 seeds: per-seed results, intervals, paired changes, shared references", async () => {
    const { out, err } = await onebit(
      "sensitivity",
      floatFile,
      ...slice,
      "--retrain",
      "--seeds",
      "2",
      "--bits",
      "1",
      "--json",
    );
    const r = JSON.parse(out);
    expect(r.method).toBe("retrain");
    expect(r.seeds).toEqual([0, 1]);
    expect(r.retrain).toEqual({ images: 256 });
    expect(r.binarizeOne.schedule).toEqual({ epochs: 1, batchSize: 64, lr: 0.002, schedule: "exponential" });
    // 6 models (2 references, 4 variants) x 2 seeds. With two weight layers, keeping one at
    // full precision in the derived binary model is binarizing the other in the float model:
    // the same spec, schedule and seeds, trained once.
    expect(r.variants).toBe(6);
    expect([r.trainings, r.reused]).toEqual([8, 4]);
    for (const [k, b] of [
      ["dense2", "dense1"],
      ["dense1", "dense2"],
    ]) {
      const kept = r.keepOne.results.find((v: Result) => v.layer === k);
      const binarized = r.binarizeOne.results.find((v: Result) => v.layer === b);
      expect(kept.perSeed).toEqual(binarized.perSeed);
    }
    for (const [mode, m] of [
      ["binarize-one", r.binarizeOne],
      ["keep-one", r.keepOne],
    ] as const) {
      const ref = m.reference;
      expect(ref.perSeed).toHaveLength(2);
      const s = summarize(ref.perSeed);
      expect(ref.accuracy).toBeCloseTo(s.mean, 12);
      expect(ref.interval).toEqual([s.low, s.high]);
      for (const v of m.results as Result[]) {
        expect(v.perSeed).toHaveLength(2);
        for (const a of v.perSeed) expect(a >= 0 && a <= 1).toBe(true);
        const d =
          mode === "binarize-one"
            ? pairedDifference(ref.perSeed, v.perSeed)
            : pairedDifference(v.perSeed, ref.perSeed);
        expect(v.delta).toBeCloseTo(d.mean, 12);
        expect(v.deltaInterval).toEqual([d.low, d.high]);
        expect(v.beyondNoise).toBe(d.beyondNoise);
      }
    }
    expect(err).toMatch(/sensitivity \(retrain\): 8 trainings on 256 images, .* \(4 reused\); estimated/);
    expect(err).toMatch(/\[1\/8\] binarize-one reference, seed 0: training from scratch/);
    expect(err).toMatch(/\[8\/8\] .*: test \d+\.\d\d% in/);
  });

  it("the table marks intervals, the report states the method", async () => {
    const outDir = path.join(dir, "report");
    const { out } = await onebit(
      "sensitivity",
      floatFile,
      ...slice,
      "--retrain",
      "--seeds",
      "2",
      "--bits",
      "1",
      "--mode",
      "binarize-one",
      "--layers",
      "dense2",
      "--epochs",
      "1",
      "--out",
      outDir,
    );
    expect(out).toMatch(/binarize-one: test accuracy % \(change, points ± 95% interval\)/);
    expect(out).toMatch(/dense2\s+\d+\.\d\d \([-+]\d+\.\d\d ±\d+\.\d\d\*?\)/);
    expect(out).toMatch(
      /method: retrain: every model trained from scratch on 256 images: binarize-one 1 epochs/,
    );
    expect(out).toMatch(/seeds 0, 1: 95% Student-t intervals/);
    const html = await readFile(path.join(outDir, "report.html"), "utf8");
    expect(html).toContain("method: retrain");
    expect(html).toMatch(/error bars: 95% interval of the change/);
  });

  it("fine-tune mode states its known bias", async () => {
    const { out } = await onebit("sensitivity", floatFile, ...slice, "--bits", "1", "--layers", "dense1");
    expect(out).toMatch(/method: fine-tune \(fast\)/);
    expect(out).toMatch(
      /Known bias: keeping a hidden layer at full precision can lose accuracy under fine-tuning/,
    );
    expect(out).toMatch(/one seed: no intervals/);
  });

  it("fine-tune mode takes --seeds too (the seed sets the fine-tune batch order)", async () => {
    const args = ["--seeds", "2", "--bits", "1", "--mode", "binarize-one", "--layers", "dense1", "--json"];
    const r = JSON.parse((await onebit("sensitivity", floatFile, ...slice, ...args)).out);
    expect(r.method).toBe("finetune");
    expect(r.seeds).toEqual([0, 1]);
    const [v] = r.binarizeOne.results as Result[];
    expect(v!.perSeed).toHaveLength(2);
    expect(v!.deltaInterval).not.toBeNull();
    expect(r.binarizeOne.reference.interval).not.toBeNull();
  });

  it("--epochs without --retrain is refused", async () => {
    await expect(onebit("sensitivity", floatFile, ...slice, "--epochs", "2")).rejects.toThrow(
      /--epochs sets the retraining schedule: add --retrain/,
    );
  });
});

describe("residual models: stem, shortcuts and blocks", () => {
  it.each(["birealnet", "reactnet"])("%s: the stem and the shortcut convs are variants", async (builder) => {
    const file = await writeCheckpoint(dir, builder, { builder, options: { width: 8, stages: [1, 1] } });
    const ck = await loadCheckpoint(file);
    const layers = weightLayers(checkpointLayers(ck), true);
    const names = layers.map((l) => l.name);
    expect(names).toContain("stem_conv");
    expect(names).toContain("stage2_block1_shortcut");
    // In the binary model the stem and the shortcut are float, the 3x3 convs binary.
    const bitsOf = (n: string) => layers.find((l) => l.name === n)!.weightBits;
    expect([bitsOf("stem_conv"), bitsOf("stage2_block1_shortcut"), bitsOf("stage2_block1_conv")]).toEqual([
      32, 32, 1,
    ]);
    const plan = planSensitivity({
      checkpoint: ck,
      checkpointFile: file,
      mode: "both",
      bits: [1],
      layers: ["stem", "stage2_block1_shortcut", "stage2_block1", "stage2_block1_conv"],
    });
    const edits = plan.entries.map(
      (e) =>
        `${e.mode} ${e.label}: ${e.edits.map((x) => `${x.layer}@${x.bits}`).join(" ")}${e.same ? " same" : ""}`,
    );
    const idx = (n: string) => layers.find((l) => l.name === n)!.index;
    const [stem, sc, conv] = [idx("stem_conv"), idx("stage2_block1_shortcut"), idx("stage2_block1_conv")];
    // "stem" is a block prefix: every stem weight layer (one here).
    expect(edits).toContain(`binarize-one stem at 1 bit: ${stem}@1`);
    expect(edits).toContain(`binarize-one stage2_block1_shortcut at 1 bit: ${sc}@1`);
    expect(edits).toContain(`binarize-one stage2_block1 at 1 bit: ${conv}@1 ${sc}@1`);
    // The binary 3x3 conv alone at 1 bit is the model itself.
    expect(edits).toContain(`binarize-one stage2_block1_conv at 1 bit: ${conv}@1 same`);
    // keep-one of an already float layer changes nothing; the block's binary conv does change.
    expect(edits).toContain(`keep-one stem full precision: ${stem}@32 same`);
    expect(edits).toContain(`keep-one stage2_block1 full precision: ${conv}@32 ${sc}@32`);
  });

  it("birealnet end to end: binarize-one on the stem and a shortcut of the binary model", async () => {
    const file = await writeCheckpoint(dir, "bireal-e2e", {
      builder: "birealnet",
      options: { width: 8, stages: [1, 1] },
    });
    const { out } = await onebit(
      "sensitivity",
      file,
      "--dataset",
      "mnist",
      "--limit-train",
      "64",
      "--limit-test",
      "64",
      "--calibration",
      "64",
      "--finetune-epochs",
      "0",
      "--bits",
      "1",
      "--layers",
      "stem_conv,stage2_block1_shortcut,stage2_block1_conv",
      "--json",
    );
    const r = JSON.parse(out);
    const same = (m: { results: { same: boolean }[] }) => m.results.map((v) => v.same);
    expect(r.binarizeOne.results.map((v: Result) => `${v.layer}@${v.bits}`)).toEqual([
      "stem_conv@1",
      "stage2_block1_shortcut@1",
      "stage2_block1_conv@1",
    ]);
    // The float stem and shortcut change at 1 bit; the binary conv is already at 1 bit.
    expect(same(r.binarizeOne)).toEqual([false, false, true]);
    expect(same(r.keepOne)).toEqual([true, true, false]);
    expect(r.keepOne.results.map((v: Result) => v.delta).slice(0, 2)).toEqual([0, 0]);
    // The two modes share their reference (the binary model as stored): trained once.
    expect(r.keepOne.reference.perSeed).toEqual(r.binarizeOne.reference.perSeed);
    expect([r.trainings, r.reused]).toEqual([4, 1]);
  });
});
