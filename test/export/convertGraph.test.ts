/**
 * Graph models through the converter and the engine (format 2.0): every graph layer kind,
 * binary convs with stride 2 and 1x1 kernels, all three pad values, shared bitpacks, and
 * the result identical to the training graph in eval mode (classes, scores, integer
 * pre-activations), on the wasm and the reference kernels.
 */
import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import { buildModel } from "../../src/nn/build.js";
import { builderSpec } from "../../src/nn/builders.js";
import { input, layers, model } from "../../src/nn/functional.js";
import type { ModelSpec } from "../../src/nn/spec.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";
import { convertAndVerify, randomImages, randomizeBatchNorms, toEngineModel } from "./convert-helpers.js";

/** A graph with every graph layer kind, and binary convs of several geometries. */
function everyGraphLayer(): ModelSpec {
  const bin = (o: {
    filters: number;
    kernelSize?: number;
    stride?: number;
    padValue: -1 | 0 | 1;
    name: string;
  }) =>
    layers.quantConv2d({
      padding: "same",
      inputQuantizer: "approx_sign",
      kernelQuantizer: "magnitude_aware_sign",
      ...o,
    });
  const x = input({ shape: [9, 9, 2] });
  let h = layers.batchNorm().apply(layers.conv2d({ filters: 12, padding: "same", name: "stem" }).apply(x));
  h = layers.depthwiseConv2d({ name: "dw" }).apply(h);
  const rsign = layers.shift({ name: "rsign" }).apply(h);
  const a = layers.batchNorm().apply(bin({ filters: 12, padValue: 0, name: "b3x3" }).apply(rsign));
  const b = layers
    .batchNorm()
    .apply(bin({ filters: 12, kernelSize: 1, padValue: 1, name: "b1x1" }).apply(rsign));
  h = layers.add({ name: "sum" }).apply([a, b, h]);
  h = layers.prelu({ name: "prelu" }).apply(layers.shift().apply(h));
  const down = layers.batchNorm().apply(bin({ filters: 20, stride: 2, padValue: -1, name: "b_s2" }).apply(h));
  const short = layers
    .conv2d({ filters: 20, kernelSize: 1, name: "short" })
    .apply(layers.avgPool({ size: 2, padding: "same" }).apply(h));
  h = layers.concatenate({ name: "cat" }).apply([down, short]);
  h = layers.depthwiseConv2d({ stride: 2, kernel: "blur", name: "blur" }).apply(layers.relu().apply(h));
  h = layers.maxPool({ size: 2, stride: 1, padding: "same" }).apply(h);
  const out = layers.dense({ units: 10, useBias: true, name: "head" }).apply(layers.globalAvgPool().apply(h));
  return model({ inputs: x, outputs: out, name: "every-graph-layer" });
}

describe("graph models: converter + engine vs the training graph", () => {
  for (const backend of ["wasm", "ref"] as const) {
    it(`every graph layer kind, identical classes, scores and pre-activations (${backend})`, async () => {
      const ctx = await createContext(backend);
      const m = buildModel(ctx, everyGraphLayer(), new Random(4));
      randomizeBatchNorms(m, 9);
      for (const [name, t] of m.namedTensors()) {
        // Non-zero shifts and slopes, so the RSign thresholds and PReLU matter.
        if (name.endsWith("alpha")) t.data.set(t.data.map((_, i) => 0.1 + 0.05 * i));
      }
      const { report, engineModel } = await convertAndVerify(m, randomImages(40, 162, 7), backend);
      expect(report.ok, JSON.stringify(report).slice(0, 600)).toBe(true);
      expect(report.classes.checked).toBe(40);
      expect(report.preActivations.map((p) => p.layer)).toEqual(["b3x3", "b1x1", "b_s2"]);
      const kinds = engineModel.layers.map((l) => l.kind);
      for (const k of ["add", "concat", "prelu", "shift", "globalavgpool", "depthwise_conv2d", "avgpool"]) {
        expect(kinds).toContain(k);
      }
      // The shift that only binary convs read is their bitpack's thresholds (RSign), one
      // bitpack for both readers.
      const rsign = engineModel.layers.filter((l) => l.name.startsWith("rsign"));
      expect(rsign.map((l) => l.kind)).toEqual(["bitpack"]);
      expect(rsign[0]).toHaveProperty("thresholds");
      expect(engineModel.layers.find((l) => l.name === "sum")?.inputs).toEqual([
        "batch_norm_2",
        "batch_norm_3",
        "dw",
      ]);
      m.dispose();
    });
  }

  it("the residual builders export and verify (birealnet, reactnet, quicknet)", async () => {
    const ctx = await createContext("wasm");
    for (const builder of ["birealnet", "reactnet", "quicknet"]) {
      const spec = builderSpec({ builder, options: { inputShape: [12, 12, 1], width: 8, stages: [1, 2] } });
      const m = buildModel(ctx, spec, new Random(1));
      randomizeBatchNorms(m, 2);
      const { report } = await convertAndVerify(m, randomImages(20, 144, 3));
      expect(report.ok, `${builder}: ${JSON.stringify(report).slice(0, 400)}`).toBe(true);
      expect(report.preActivations.length).toBe(3);
      m.dispose();
    }
  });

  it("the residual builders verify where their binary convs take the direct kernels (affine fused in)", async () => {
    // More than 32 channels: the engine's binary convs run conv2dAffine, over the padded
    // copy (pad 0 and +1; word tiles at 64 and 128 channels, 3x3 tiles at 40 and 48) or the
    // general path (stride 2, 80 and 96 channels).
    const ctx = await createContext("wasm");
    for (const [builder, width] of [
      ["birealnet", 48],
      ["reactnet", 40],
      ["quicknet", 64],
    ] as const) {
      const spec = builderSpec({ builder, options: { inputShape: [10, 10, 1], width, stages: [1, 2] } });
      const m = buildModel(ctx, spec, new Random(5));
      randomizeBatchNorms(m, 6);
      const { report } = await convertAndVerify(m, randomImages(8, 100, 4));
      expect(report.ok, `${builder}: ${JSON.stringify(report).slice(0, 400)}`).toBe(true);
      m.dispose();
    }
  });

  it("a graph is written as format 2.0 and round-trips; a chain stays 1.1", async () => {
    const ctx = await createContext("ref");
    const graph = buildModel(ctx, everyGraphLayer(), new Random(0));
    const bytes = encodeModel(toEngineModel(graph));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect([view.getUint16(8, true), view.getUint16(10, true)]).toEqual([2, 0]);
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
    // A 1.x file may not use inputs or the graph kinds.
    view.setUint16(8, 1, true);
    expect(() => decodeModel(bytes, "g.onebit")).toThrow(
      /g\.onebit: layer \d+ '.*' \(\w+\): (unknown field "inputs"|kind: expected one of)/,
    );
    const chain = buildModel(ctx, builderSpec({ builder: "bnn-cnn", options: {} }), new Random(0));
    const chainBytes = encodeModel(toEngineModel(chain));
    expect(new DataView(chainBytes.buffer, chainBytes.byteOffset).getUint16(8, true)).toBe(1);
    graph.dispose();
    chain.dispose();
  });

  it("a layer reading a later layer is refused, naming both", async () => {
    const ctx = await createContext("ref");
    const m = buildModel(ctx, everyGraphLayer(), new Random(0));
    const em = toEngineModel(m);
    const sum = em.layers.find((l) => l.name === "sum")!;
    sum.inputs = ["batch_norm_2", "head"];
    expect(() => encodeModel(em)).toThrow(/layer \d+ 'sum' \(add\): reads 'head', which is no earlier layer/);
    m.dispose();
  });
});
