/**
 * onebit -> ONNX -> onebit: engine models converted from builders (random weights and
 * batch-norm statistics, about a third of the gammas negative, so thresholds flip and
 * pools AND), exported to ONNX, run in onnxruntime against the engine on MNIST test
 * images, then imported back and run again.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type DataSplits, loadDataset } from "../../src/data/index.js";
import type { EngineModel } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { exportOnnxWithProbes } from "../../src/interop/export-onnx.js";
import { importOnnx } from "../../src/interop/import.js";
import { formatOnnxReport, verifyOnnx } from "../../src/interop/verify-onnx.js";
import { buildModel } from "../../src/nn/build.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";
import { randomizeBatchNorms, toEngineModel } from "../export/convert-helpers.js";

let mnist: DataSplits;
beforeAll(async () => {
  mnist = await loadDataset("mnist", { limitTrain: 0, limitTest: 500 });
});

const raw = (m: EngineModel) => ({
  name: "image",
  dims: m.layers[0]!.in.shape,
  axes: [0, 1, 2],
  scale: 1,
  offset: 0,
});

async function roundTrip(engineModel: EngineModel) {
  const { bytes, probes } = exportOnnxWithProbes(engineModel);
  const engine = await Engine.load(engineModel);
  const test = mnist.test;
  const exported = await verifyOnnx(engine, bytes, test.images, test.count, raw(engineModel), { probes });
  engine.dispose();
  // Importing the export again: raw pixels map onto 0..255 unchanged.
  const back = importOnnx(bytes, { file: "exported.onnx", inputRange: [0, 255] });
  const engine2 = await Engine.load(back.model);
  const imported = await verifyOnnx(engine2, bytes, test.images, test.count, back.input, {
    probes: back.probes,
  });
  engine2.dispose();
  return { exported, imported, back, bytes };
}

const cases: [string, Record<string, unknown>][] = [
  ["bnn-mlp", { width: 96, depth: 2, last: "bwn" }],
  ["bnn-cnn", { widthMultiplier: 0.5, last: "binary", padValue: -1 }],
  ["bnn-cnn", { widthMultiplier: 0.5, first: "bwn", last: "bwn", padValue: 0 }],
  ["bwn-cnn", { widthMultiplier: 0.5 }],
];

describe("export to ONNX and import back", () => {
  it.each(cases)("%s %j: onnxruntime equals the engine both ways", async (builder, options) => {
    const ctx = await createContext("wasm");
    const model = buildModel(ctx, { builder, options }, new Random(3));
    randomizeBatchNorms(model, 5);
    const engineModel = toEngineModel(model);
    model.dispose();
    const { exported, imported, back } = await roundTrip(engineModel);
    expect(exported.ok, formatOnnxReport(exported)).toBe(true);
    expect(imported.ok, formatOnnxReport(imported)).toBe(true);
    // Layer for layer the same model (binary-weight layers included), with the same
    // preprocessing (the graph's float64 Mul/Add back in the input layer).
    expect(back.model.layers.map((l) => l.kind)).toEqual(engineModel.layers.map((l) => l.kind));
    expect(back.model.layers[0]).toMatchObject({ scale: [1 / 127.5], offset: [-1] });
  });
});

describe("graph models (format 2.0) export to ONNX and import back", () => {
  it.each(["birealnet", "reactnet", "quicknet"])(
    "%s: onnxruntime equals the engine both ways",
    async (builder) => {
      const ctx = await createContext("wasm");
      const model = buildModel(ctx, { builder, options: { width: 8, stages: [1, 2] } }, new Random(3));
      randomizeBatchNorms(model, 5);
      const engineModel = toEngineModel(model);
      model.dispose();
      const { exported, imported, back } = await roundTrip(engineModel);
      expect(exported.ok, formatOnnxReport(exported)).toBe(true);
      expect(exported.classMismatches).toBe(0);
      expect(imported.ok, formatOnnxReport(imported)).toBe(true);
      expect(imported.classMismatches).toBe(0);
      // The same graph up to the order of independent layers (the importer emits a binary
      // layer once what follows it is known): each layer's kind and what it reads, recursively.
      const graph = (m: EngineModel) => {
        const memo = new Map<string, string>();
        const sig = (i: number): string => {
          const l = m.layers[i]!;
          if (!memo.has(l.name)) {
            const reads = l.inputs ?? (i > 0 ? [m.layers[i - 1]!.name] : []);
            const ins = reads.map((n) => sig(m.layers.findIndex((x) => x.name === n)));
            memo.set(l.name, `${l.kind}(${(l.kind === "add" ? ins.sort() : ins).join(",")})`);
          }
          return memo.get(l.name)!;
        };
        return sig(m.layers.length - 1);
      };
      expect(back.model.layers.length).toBe(engineModel.layers.length);
      expect(graph(back.model)).toEqual(graph(engineModel));
    },
  );
});
