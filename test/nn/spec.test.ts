/**
 * Model specs and the functional API: a spec round-trips exactly (JSON -> model -> JSON,
 * the same parameters by name), names survive inserting a layer, and bad specs fail with
 * the layer and the shapes named.
 */
import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/nn/build.js";
import { builderSpec } from "../../src/nn/builders.js";
import { input, layers, model, sequential } from "../../src/nn/functional.js";
import { type ModelSpec, resolveSpec } from "../../src/nn/spec.js";
import { softmaxCrossEntropy } from "../../src/ops/index.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

/** A small Bi-Real-style residual net: real shortcut around each binary conv, downsampling block, GAP head. */
function residualSpec(): ModelSpec {
  const x = input({ shape: [8, 8, 2] });
  let h = layers
    .batchNorm({ name: "stem_bn" })
    .apply(layers.conv2d({ filters: 4, padding: "same", name: "stem" }).apply(x));
  const bconv = (filters: number, stride: number, name: string) =>
    layers.quantConv2d({
      filters,
      stride,
      padding: "same",
      inputQuantizer: "approx_sign",
      kernelQuantizer: "magnitude_aware_sign",
      name,
    });
  // Block 1: identity shortcut.
  h = layers
    .add({ name: "block1_add" })
    .apply([layers.batchNorm().apply(bconv(4, 1, "block1_conv").apply(h)), h]);
  // Block 2: stride 2, shortcut AvgPool -> float 1x1 conv -> BN.
  const short = layers
    .batchNorm()
    .apply(
      layers
        .conv2d({ filters: 8, kernelSize: 1, name: "block2_short" })
        .apply(layers.avgPool({ size: 2 }).apply(h)),
    );
  h = layers
    .add({ name: "block2_add" })
    .apply([layers.batchNorm().apply(bconv(8, 2, "block2_conv").apply(h)), short]);
  h = layers.prelu().apply(layers.shift().apply(h));
  const out = layers.dense({ units: 3, name: "head" }).apply(layers.globalAvgPool().apply(h));
  return model({ inputs: x, outputs: out, name: "tiny-bireal" });
}

describe("model spec", () => {
  it("round-trips: JSON -> model -> JSON identical, the same parameters by name", async () => {
    const spec = residualSpec();
    const json = JSON.stringify(spec);
    const again = resolveSpec(JSON.parse(json)).spec;
    expect(JSON.stringify(again)).toBe(json);
    const ctx = await createContext("ref");
    const a = buildModel(ctx, JSON.parse(json), new Random(3));
    const b = buildModel(ctx, again, new Random(3));
    expect(JSON.stringify(a.spec)).toBe(json);
    expect([...a.namedTensors().keys()]).toEqual([...b.namedTensors().keys()]);
    expect([...a.namedTensors().keys()]).toContain("block1_conv.kernel");
    expect([...a.namedTensors().keys()]).toContain("block2_short.kernel");
    for (const [name, t] of a.namedTensors())
      expect(t.toArray()).toEqual(b.namedTensors().get(name)!.toArray());
    expect(a.isChain).toBe(false);
    a.dispose();
    b.dispose();
  });

  it("each built layer's outputShape agrees with the shape the spec resolves to", async () => {
    const ctx = await createContext("ref");
    for (const spec of [
      residualSpec(),
      builderSpec({ builder: "birealnet", options: {} }),
      builderSpec({ builder: "quicknet", options: {} }),
    ]) {
      const { shapes } = resolveSpec(spec, spec.name);
      const m = buildModel(ctx, spec, new Random(0));
      m.layers.forEach((layer, i) => {
        const inputName = m.spec.layers[i]!.inputs[0]!;
        if (m.spec.layers[i]!.inputs.length !== 1) return;
        expect([layer.type, layer.outputShape(shapes.get(inputName)!)]).toEqual([
          layer.type,
          shapes.get(m.names[i]!),
        ]);
      });
      m.dispose();
    }
  });

  it("names layers TYPE_K in run order; a given name is kept; inserting a layer renames nothing named", () => {
    const spec = sequential({
      inputShape: [4],
      layers: [layers.dense({ units: 3, name: "first" }), layers.batchNorm(), layers.dense({ units: 2 })],
    });
    expect(spec.layers.map((l) => l.name)).toEqual(["first", "batch_norm_1", "quant_dense_1"]);
    const more = sequential({
      inputShape: [4],
      layers: [
        layers.dense({ units: 3, name: "first" }),
        layers.relu(),
        layers.batchNorm(),
        layers.dense({ units: 2 }),
      ],
    });
    expect(more.layers.map((l) => l.name)).toEqual([
      "first",
      "activation_1",
      "batch_norm_1",
      "quant_dense_1",
    ]);
  });

  it("a builder's spec is a chain with the old layer order", () => {
    const spec = builderSpec({ builder: "bnn-cnn", options: {} });
    expect(spec.layers.map((l) => l.type).join(" ")).toBe(
      "quant_conv2d max_pool batch_norm quant_conv2d max_pool batch_norm quant_conv2d batch_norm flatten quant_dense batch_norm quant_dense batch_norm",
    );
    expect(spec.layers[3]!.inputs).toEqual([spec.layers[2]!.name]);
  });

  it("a residual model trains: the gradient reaches both branches of an add (one tensor used twice)", async () => {
    const ctx = await createContext("wasm");
    const m = buildModel(ctx, residualSpec(), new Random(1));
    const rng = new Random(2);
    const x = Float32Array.from({ length: 4 * 8 * 8 * 2 }, () => rng.uniform(-1, 1));
    ctx.tidy(() => {
      const loss = softmaxCrossEntropy(
        m.forward(ctx.fromArray(x, [4, 8, 8, 2]), { training: true, rng }),
        [0, 1, 2, 1],
      );
      for (const p of m.params()) p.tensor.zeroGrad();
      loss.backward();
    });
    for (const p of m.params()) {
      const g = p.tensor.grad!.toArray();
      expect(
        g.some((v) => v !== 0),
        `${p.name} has a zero gradient`,
      ).toBe(true);
    }
    m.dispose();
  });

  it("add of a tensor with itself doubles the gradient", async () => {
    const x = input({ shape: [3] });
    const d = layers.dense({ units: 3, name: "d" }).apply(x);
    const spec = model({ inputs: x, outputs: layers.add().apply([d, d]) });
    const ctx = await createContext("ref");
    const m = buildModel(ctx, spec, new Random(0));
    ctx.tidy(() => {
      const y = m.forward(ctx.fromArray([1, 2, 3], [1, 3]), { training: false, rng: new Random(0) });
      expect(y.toArray()).toEqual(
        Float32Array.from(
          ctx.tidy(() =>
            m.layers[0]!.forward(ctx.fromArray([1, 2, 3], [1, 3]), {
              training: false,
              rng: new Random(0),
            }).toArray(),
          ),
          (v) => 2 * v,
        ),
      );
    });
    m.dispose();
  });
});

describe("bad specs name the layer and the fault", () => {
  const base = (): ModelSpec => JSON.parse(JSON.stringify(residualSpec()));

  it("mismatched shapes at add, at definition time", () => {
    const x = input({ shape: [8, 8, 2] });
    const a = layers.conv2d({ filters: 4, padding: "same" }).apply(x);
    const b = layers.conv2d({ filters: 4, stride: 2, padding: "same" }).apply(x);
    expect(() => layers.add({ name: "join" }).apply([a, b])).toThrow(
      "layer 'join' (add): input 1 has shape [4,4,4], input 0 has [8,8,4]; add needs equal shapes",
    );
  });

  it("a cycle", () => {
    const spec = base();
    spec.layers.find((l) => l.name === "stem")!.inputs = ["block1_add"];
    expect(() => resolveSpec(spec, "net.json")).toThrow(
      /^net\.json: the layers form a cycle: .*stem.*block1_add/,
    );
  });

  it("an unknown layer type", () => {
    const spec = base();
    spec.layers[1]!.type = "quant_conv3d";
    expect(() => resolveSpec(spec, "net.json")).toThrow(
      /net\.json: layer 'stem_bn': unknown layer type 'quant_conv3d'; the types are/,
    );
  });

  it("a missing input", () => {
    const spec = base();
    spec.layers[2]!.inputs = ["nowhere"];
    expect(() => resolveSpec(spec, "net.json")).toThrow(
      `net.json: layer '${spec.layers[2]!.name}' reads 'nowhere', which is no layer or input of the model`,
    );
  });

  it("mismatched shapes at add, in a JSON spec", () => {
    const spec = base();
    spec.layers.find((l) => l.name === "block2_add")!.inputs = ["block2_short", "block1_add"];
    expect(() => resolveSpec(spec, "net.json")).toThrow(
      /net\.json: layer 'block2_add' \(add\): input 1 has shape \[8,8,4\], input 0 has \[4,4,8\]/,
    );
  });

  it("an unknown option (a typo is not silently a default)", () => {
    expect(() =>
      sequential({ inputShape: [4], layers: [layers.dense({ units: 2, widht: 3 } as never)] }),
    ).toThrow(/unknown option 'widht'/);
  });

  it("a config whose stored input size disagrees with its input", () => {
    const spec = base();
    (spec.layers.find((l) => l.name === "head")!.config as { inFeatures: number }).inFeatures = 5;
    expect(() => resolveSpec(spec, "net.json")).toThrow(
      /layer 'head' \(quant_dense\): its config says 5 input features, its input has shape \[8\]/,
    );
  });
});
