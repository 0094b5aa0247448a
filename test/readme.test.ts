// The README's code example, run as written (through the package's main entry), so it cannot rot.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { convertCheckpoint, createContext, Engine, encodeModel, loadDataset, train } from "../src/index.js";

it("README example: train a small BNN, export it, classify with the packed engine", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "onebit-readme-"));
  // --- as in the README ---
  const data = await loadDataset("mnist", { limitTrain: 2000 });
  const ctx = await createContext("wasm");
  const result = await train({
    ctx,
    data,
    outDir: out,
    progress: "quiet",
    config: { model: { builder: "bnn-mlp", options: { width: 128 } }, epochs: 2, batchSize: 100, lr: 1e-2 },
  });
  const { engineModel } = await convertCheckpoint(path.join(out, "last.ckpt"));
  const engine = await Engine.load(encodeModel(engineModel));
  const { classes } = engine.predict(data.test.images.subarray(0, 784));
  // ---
  expect(result.testAccuracy).toBeGreaterThan(0.75);
  expect(classes.length).toBe(1);
  expect(classes[0]).toBeGreaterThanOrEqual(0);
  expect(classes[0]).toBeLessThan(10);
  engine.dispose();
  result.model.dispose();
});
