/**
 * Issue 16's fixtures (scripts/make-residual-onnx.py): residual BNNs as PyTorch users write
 * them, exported with torch.onnx.export of the training module. Each imports into the
 * engine layers its idioms imply (explicit pads, RSign thresholds, binary convs from
 * alpha * sign(w) computed in the graph) and agrees with onnxruntime on a slice of its data
 * set's test images: no class mismatch, ties (float rounding or torch.sign(0)) reported
 * apart. `onebit import X.onnx --verify` runs the same check on all 10,000 images.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type DataSplits, loadDataset } from "../../src/data/index.js";
import { Engine } from "../../src/engine/runtime.js";
import { importOnnx } from "../../src/interop/import.js";
import { formatOnnxReport, verifyOnnx } from "../../src/interop/verify-onnx.js";

const DIR = path.join(import.meta.dirname, "../fixtures/onnx");
const read = (name: string) => new Uint8Array(readFileSync(path.join(DIR, name)));
const INDEX = JSON.parse(readFileSync(path.join(DIR, "residual.json"), "utf8")) as Record<
  string,
  { data: "mnist" | "fashion-mnist"; inputRange: [number, number]; accuracy2000: number }
>;
const SLICE = 300;

const data: Partial<Record<"mnist" | "fashion-mnist", DataSplits>> = {};
beforeAll(async () => {
  for (const name of new Set(Object.values(INDEX).map((f) => f.data))) {
    data[name] = await loadDataset(name, { limitTrain: 0, limitTest: SLICE });
  }
});

describe("residual PyTorch BNNs", () => {
  it.each(Object.keys(INDEX))("%s: imports, and agrees with onnxruntime on a test slice", async (name) => {
    const f = INDEX[name]!;
    const bytes = read(`${name}.onnx`);
    const r = importOnnx(bytes, { file: `${name}.onnx`, inputRange: f.inputRange });
    const kinds = r.model.layers.map((l) => l.kind);
    // Every binary conv of these models is binary in the engine, not a float fallback.
    expect(kinds).toContain("binary_conv2d");
    expect(kinds).not.toContain("unpack");
    const engine = await Engine.load(r.model);
    const test = data[f.data]!.test;
    const report = await verifyOnnx(engine, bytes, test.images, test.count, r.input, {
      labels: test.labels,
      probes: r.probes,
    });
    engine.dispose();
    console.log(name, formatOnnxReport(report));
    expect(report.classMismatches - report.ties.length, formatOnnxReport(report)).toBeLessThanOrEqual(0);
    expect(report.ok, formatOnnxReport(report)).toBe(true);
    // Trained, not random: the engine's accuracy is near the one the script measured.
    expect(report.accuracy!.engine).toBeGreaterThan(f.accuracy2000 - 0.1);
  });
});
