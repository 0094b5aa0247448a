import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type DataSplits, loadDataset } from "../../src/data/index.js";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import { Engine } from "../../src/engine/runtime.js";
import { convertCheckpoint } from "../../src/export/checkpoint.js";
import { formatVerifyReport, verifyEngine } from "../../src/export/verify.js";
import { createContext } from "../../src/tensor/index.js";
import { evaluate } from "../../src/train/evaluate.js";
import { train } from "../../src/train/trainer.js";

let mnist: DataSplits;
beforeAll(async () => {
  mnist = await loadDataset("mnist", { limitTrain: 1200, limitTest: 300 });
});

describe("verify: engine vs training graph on trained models", () => {
  it("bnn-cnn trained one epoch on a slice: exported through its checkpoint, identical on every test image", async () => {
    const ctx = await createContext("wasm");
    const outDir = await mkdtemp(path.join(os.tmpdir(), "onebit-verify-"));
    const r = await train({
      ctx,
      data: mnist,
      outDir,
      config: {
        model: { builder: "bnn-cnn", options: { widthMultiplier: 0.5, last: "bwn", padValue: 1 } },
        epochs: 1,
        batchSize: 64,
        lr: 1e-2,
      },
      progress: "quiet",
    });
    const { engineModel, model } = await convertCheckpoint(r.checkpoint!, { limitTest: 1 });
    const engine = await Engine.load(decodeModel(encodeModel(engineModel)));
    const test = mnist.test;
    const report = verifyEngine(model, engine, {
      images: test.images,
      count: test.count,
      preprocessing: mnist.preprocessing,
    });
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.classes.checked).toBe(300);
    expect(report.preActivations).toHaveLength(4);
    // The engine's accuracy is the trainer's evaluation accuracy.
    const { classes } = engine.predict(test.images);
    const correct = classes.filter((c, i) => c === test.labels[i]).length;
    expect(correct / test.count).toBe(evaluate(r.model, test, mnist.preprocessing).accuracy);
    engine.dispose();
  });

  it("reports a wrong threshold as mismatches with the first example", async () => {
    const ctx = await createContext("wasm");
    const r = await train({
      ctx,
      data: mnist,
      config: {
        model: { builder: "bnn-mlp", options: { width: 64, depth: 2, last: "bwn" } },
        epochs: 1,
        batchSize: 100,
        lr: 1e-2,
      },
      progress: "quiet",
    });
    const { convertModel } = await import("../../src/export/convert.js");
    const engineModel = convertModel(r.model, {
      classNames: mnist.classes,
      preprocessing: mnist.preprocessing,
    });
    const first = engineModel.layers.find((l) => l.kind === "binary_dense");
    if (first?.kind !== "binary_dense" || first.output.kind !== "threshold")
      throw new Error("expected a threshold layer");
    const t = first.output.thresholds.data;
    for (let j = 0; j < t.length; j += 4) t[j] = t[j]! + 6;
    const engine = await Engine.load(engineModel);
    const report = verifyEngine(r.model, engine, {
      images: mnist.test.images,
      count: mnist.test.count,
      preprocessing: mnist.preprocessing,
    });
    expect(report.ok).toBe(false);
    const second = report.preActivations[1]!;
    expect(second.count).toBeGreaterThan(0);
    expect(second.first).toBeDefined();
    expect(formatVerifyReport(report)).toMatch(/MISMATCH[\s\S]*first: image \d+/);
    engine.dispose();
  });
});
