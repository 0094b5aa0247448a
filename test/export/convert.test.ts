import { describe, expect, it } from "vitest";
import { buildModel } from "../../src/nn/build.js";
import type { Layer } from "../../src/nn/layer.js";
import { BatchNorm, Flatten, MaxPool } from "../../src/nn/layers.js";
import { Model } from "../../src/nn/model.js";
import { QuantConv2D, QuantDense, type Scaling } from "../../src/nn/quantLayers.js";
import { type Context, createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";
import { convertAndVerify, randomImages, randomizeBatchNorms, toEngineModel } from "./convert-helpers.js";

/** conv(float) -> pool -> BN -> bconv (same, padValue) -> BN -> pool -> bconv -> BN -> flatten -> bdense -> BN. */
function customCnn(
  ctx: Context,
  o: { padValue: -1 | 0 | 1; scaling?: Scaling; poolAfterBn?: boolean; channels?: number },
): Model {
  const rng = new Random(7);
  const layers: Layer[] = [];
  let shape = [12, 12, 1];
  const push = (l: Layer) => {
    shape = l.outputShape(shape);
    layers.push(l);
  };
  const bin = {
    inputQuantizer: "ste_sign",
    kernelQuantizer: "ste_sign",
    scaling: o.scaling ?? "none",
  } as const;
  const c = o.channels ?? 40;
  push(new QuantConv2D(ctx, shape, { filters: 8, kernelSize: 3, padding: "same" }, rng));
  push(new MaxPool(2));
  push(new BatchNorm(ctx, shape));
  push(
    new QuantConv2D(
      ctx,
      shape,
      { filters: c, kernelSize: 3, padding: "same", padValue: o.padValue, ...bin },
      rng,
    ),
  );
  if (o.poolAfterBn) {
    push(new BatchNorm(ctx, shape));
    push(new MaxPool(2));
  } else {
    push(new MaxPool(2));
    push(new BatchNorm(ctx, shape));
  }
  push(
    new QuantConv2D(
      ctx,
      shape,
      { filters: 33, kernelSize: 3, stride: 2, padding: "same", padValue: o.padValue, ...bin },
      rng,
    ),
  );
  push(new BatchNorm(ctx, shape));
  push(new Flatten());
  push(new QuantDense(ctx, shape, { units: 10, ...bin }, rng));
  push(new BatchNorm(ctx, shape));
  return Model.chain(ctx, [12, 12, 1], layers, "custom");
}

describe("converter + engine vs the training graph (eval mode)", () => {
  it("bnn-mlp (binary last layer): identical classes, scores and integer pre-activations", async () => {
    const ctx = await createContext("wasm");
    const model = buildModel(
      ctx,
      { builder: "bnn-mlp", options: { width: 96, depth: 2, first: "float", last: "bwn" } },
      new Random(1),
    );
    randomizeBatchNorms(model, 2);
    const { report, engineModel } = await convertAndVerify(model, randomImages(40, 784, 3));
    expect(engineModel.layers.map((l) => l.kind)).toEqual([
      "input",
      "flatten",
      "float_dense",
      "batchnorm",
      "bitpack",
      "binary_dense",
      "binary_dense",
      "batchnorm",
    ]);
    expect(report.preActivations.map((p) => p.layer)).toEqual(["quant_dense_2", "quant_dense_3"]);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(report.preActivations.every((p) => p.checked > 0)).toBe(true);
  });

  it("bnn-cnn (first bwn, last binary): pools on bits", async () => {
    const ctx = await createContext("wasm");
    const config = { builder: "bnn-cnn", options: { widthMultiplier: 0.5, first: "bwn", last: "binary" } };
    const model = buildModel(ctx, config, new Random(4));
    randomizeBatchNorms(model, 5);
    const { report, engineModel } = await convertAndVerify(model, randomImages(32, 784, 6));
    const pools = engineModel.layers.filter((l) => l.kind === "maxpool");
    expect(pools.map((p) => p.in.layout)).toEqual(["float", "bits"]);
    // Its batch norms have no gamma (Larq's scale=False): thresholds never flip.
    expect(pools[1]!.kind === "maxpool" && pools[1]!.flip).toBeUndefined();
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });

  for (const padValue of [-1, 0, 1] as const) {
    it(`binary 'same' convolutions with padValue ${padValue} (40 and 33 channels, stride 2)`, async () => {
      const ctx = await createContext("wasm");
      const model = customCnn(ctx, { padValue });
      randomizeBatchNorms(model, 10 + padValue);
      const { report, engineModel } = await convertAndVerify(model, randomImages(24, 144, 20 + padValue));
      const bitPool = engineModel.layers.find((l) => l.kind === "maxpool" && l.in.layout === "bits");
      expect(bitPool?.kind === "maxpool" && bitPool.flip).toBeTruthy();
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(report.preActivations).toHaveLength(3);
    });
  }

  it("pool after the batch norm (plain OR on sign bits) and the ref backend", async () => {
    const ctx = await createContext("wasm");
    const model = customCnn(ctx, { padValue: 0, poolAfterBn: true, channels: 32 });
    randomizeBatchNorms(model, 30);
    const { report } = await convertAndVerify(model, randomImages(16, 144, 31), "ref");
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });

  it("XNOR weight scaling (alpha per output channel) folds into the thresholds", async () => {
    const ctx = await createContext("wasm");
    const model = customCnn(ctx, { padValue: 0, scaling: "xnor-weights" });
    randomizeBatchNorms(model, 40);
    const { report, engineModel } = await convertAndVerify(model, randomImages(24, 144, 41));
    expect(engineModel.layers.filter((l) => l.kind === "binary_conv2d")).toHaveLength(2);
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });

  async function flattenBnModel(o: { lastScaling: Scaling }): Promise<Model> {
    const ctx = await createContext("wasm");
    const rng = new Random(12);
    const bin = { inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign" } as const;
    let shape = [10, 10, 2];
    const layers: Layer[] = [];
    const push = (l: Layer) => {
      shape = l.outputShape(shape);
      layers.push(l);
    };
    push(new QuantConv2D(ctx, shape, { filters: 12, kernelSize: 3, ...bin }, rng));
    push(new MaxPool(2));
    push(new Flatten());
    push(new BatchNorm(ctx, shape));
    push(new QuantDense(ctx, shape, { units: 10, ...bin, scaling: o.lastScaling }, rng));
    push(new BatchNorm(ctx, shape));
    const model = Model.chain(ctx, [10, 10, 2], layers, "custom");
    randomizeBatchNorms(model, 13);
    return model;
  }

  it("batch norm over flattened features (XNOR-Net block order) falls back to affine + float batch norm + bitpack", async () => {
    const model = await flattenBnModel({ lastScaling: "none" });
    const { report, engineModel } = await convertAndVerify(model, randomImages(24, 200, 14));
    expect(engineModel.layers.map((l) => l.kind)).toEqual([
      "input",
      "bitpack",
      "binary_conv2d",
      "maxpool",
      "flatten",
      "batchnorm",
      "bitpack",
      "binary_dense",
      "batchnorm",
    ]);
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });

  it("a float-output layer with XNOR alpha: exact integers and classes, scores only close (known caveat)", async () => {
    // The training graph sums +/-alpha terms in float32; the engine computes x * alpha
    // rounded once (src/export/fold.ts). After the batch norm's cancellation the scores
    // differ by up to ~1e-5 relative; threshold folds are affected only within a few ulp of 0.
    const model = await flattenBnModel({ lastScaling: "xnor-weights" });
    const { report } = await convertAndVerify(model, randomImages(24, 200, 14));
    expect(report.classes.count).toBe(0);
    expect(report.preActivations.every((p) => p.count === 0)).toBe(true);
    expect(report.scores.maxRelativeError).toBeLessThan(1e-3);
  });

  it("bwn-cnn (binary weights, real activations): float layers with +/-1 weights and ReLU, identical scores", async () => {
    const ctx = await createContext("wasm");
    const model = buildModel(ctx, { builder: "bwn-cnn", options: { widthMultiplier: 0.5 } }, new Random(8));
    randomizeBatchNorms(model, 9);
    const { report, engineModel } = await convertAndVerify(model, randomImages(16, 784, 10));
    expect(engineModel.layers.filter((l) => l.kind === "relu")).toHaveLength(4);
    expect(engineModel.layers.some((l) => l.kind.startsWith("binary_"))).toBe(false);
    expect(engineModel.layers.filter((l) => l.kind.startsWith("bwn_"))).toHaveLength(3);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(report.scores.maxRelativeError).toBe(0);
  });

  it("xnor-cnn's per-position K (scaling 'xnor') is rejected naming the layer and the fix", async () => {
    const ctx = await createContext("ref");
    const model = buildModel(ctx, { builder: "xnor-cnn", options: { widthMultiplier: 0.25 } }, new Random(1));
    expect(() => toEngineModel(model)).toThrow(
      /'quant_conv2d_2' \(quant_conv2d\): scaling 'xnor'.*--scaling xnor-weights/,
    );
  });

  it("xnor-cnn with scaling 'xnor-weights' and default first/last: classes and integers identical", async () => {
    const ctx = await createContext("wasm");
    const config = { builder: "xnor-cnn", options: { widthMultiplier: 0.5, scaling: "xnor-weights" } };
    const model = buildModel(ctx, config, new Random(30));
    randomizeBatchNorms(model, 31);
    const { report, engineModel } = await convertAndVerify(model, randomImages(20, 784, 32));
    expect(engineModel.layers.map((l) => l.kind)).toContain("unpack");
    expect(report.classes.count).toBe(0);
    expect(report.preActivations.every((p) => p.count === 0 && p.checked > 0)).toBe(true);
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });

  it("bnn-mlp with float first and last layers: unpack feeds the float last layer, identical scores", async () => {
    const ctx = await createContext("wasm");
    const model = buildModel(
      ctx,
      { builder: "bnn-mlp", options: { width: 96, depth: 2, first: "float" } },
      new Random(21),
    );
    randomizeBatchNorms(model, 22);
    const { report, engineModel } = await convertAndVerify(model, randomImages(40, 784, 23));
    expect(engineModel.layers.map((l) => l.kind)).toEqual([
      "input",
      "flatten",
      "float_dense",
      "batchnorm",
      "bitpack",
      "binary_dense",
      "unpack",
      "float_dense",
      "batchnorm",
    ]);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(report.scores.maxRelativeError).toBe(0);
    expect(report.preActivations.map((p) => p.layer)).toEqual(["quant_dense_2"]);
  });

  it("default bnn-cnn (float first and last) on each backend: identical scores", async () => {
    for (const backend of ["wasm-simd", "wasm-scalar", "ref"] as const) {
      // Training graph and engine on the same float kernels (the sgemm's summation order).
      const ctx = await createContext(backend);
      const model = buildModel(
        ctx,
        { builder: "bnn-cnn", options: { widthMultiplier: 0.5 } },
        new Random(24),
      );
      randomizeBatchNorms(model, 25);
      const { report, engineModel } = await convertAndVerify(model, randomImages(20, 784, 26), backend);
      const kinds = engineModel.layers.map((l) => l.kind);
      expect(kinds.slice(-4)).toEqual(["binary_dense", "unpack", "float_dense", "batchnorm"]);
      expect(report.ok, `${backend}: ${JSON.stringify(report)}`).toBe(true);
      expect(report.scores.maxRelativeError, backend).toBe(0);
      model.dispose();
    }
  });

  it("BWN layers (binary weights, real input) are stored as bits + alpha and give identical scores", async () => {
    const ctx = await createContext("wasm");
    const mlp = buildModel(
      ctx,
      { builder: "bnn-mlp", options: { width: 64, depth: 1, first: "bwn" } },
      new Random(33),
    );
    randomizeBatchNorms(mlp, 34);
    const a = await convertAndVerify(mlp, randomImages(24, 784, 35));
    expect(a.engineModel.layers.map((l) => l.kind)).toContain("bwn_dense");
    expect(a.report.ok, JSON.stringify(a.report)).toBe(true);
    expect(a.report.scores.maxRelativeError).toBe(0);
    const cnn = buildModel(ctx, { builder: "bwn-cnn", options: { widthMultiplier: 0.5 } }, new Random(36));
    randomizeBatchNorms(cnn, 37);
    const b = await convertAndVerify(cnn, randomImages(12, 784, 38));
    const kinds = b.engineModel.layers.map((l) => l.kind);
    expect(kinds.filter((k) => k === "bwn_conv2d")).toHaveLength(2);
    expect(kinds.filter((k) => k === "bwn_dense")).toHaveLength(1);
    expect(b.report.ok, JSON.stringify(b.report)).toBe(true);
    expect(b.report.scores.maxRelativeError).toBe(0);
  });

  for (const padValue of [-1, 1] as const) {
    it(`default bnn-cnn with 'same' padding, padValue ${padValue}: identical scores and integers`, async () => {
      const ctx = await createContext("wasm");
      const options = { widthMultiplier: 0.5, padding: "same", padValue };
      const model = buildModel(ctx, { builder: "bnn-cnn", options }, new Random(40 + padValue));
      randomizeBatchNorms(model, 42 + padValue);
      const { report, engineModel } = await convertAndVerify(model, randomImages(12, 784, 44));
      const convs = engineModel.layers.filter((l) => l.kind === "binary_conv2d");
      expect(convs.map((l) => l.kind === "binary_conv2d" && [l.padding, l.padValue])).toEqual([
        ["same", padValue],
        ["same", padValue],
      ]);
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(report.scores.maxRelativeError).toBe(0);
    });
  }

  it("builder options: scaling is xnor-cnn's only; padding is valid or same", async () => {
    const ctx = await createContext("ref");
    expect(() =>
      buildModel(ctx, { builder: "bnn-cnn", options: { scaling: "xnor-weights" } }, new Random(1)),
    ).toThrow(/bnn-cnn: the scaling option is for xnor-cnn only/);
    expect(() =>
      buildModel(ctx, { builder: "xnor-cnn", options: { scaling: "none" } }, new Random(1)),
    ).toThrow(/scaling must be 'xnor' or 'xnor-weights', got 'none'/);
    expect(() =>
      buildModel(ctx, { builder: "bnn-cnn", options: { padding: "full" } }, new Random(1)),
    ).toThrow(/padding must be 'valid' or 'same', got 'full'/);
  });

  it("a float conv on binary input (float input binarized: bitpack then unpack), padValue -1", async () => {
    const ctx = await createContext("wasm");
    const rng = new Random(27);
    let shape = [9, 9, 3];
    const layers: Layer[] = [];
    const push = (l: Layer) => {
      shape = l.outputShape(shape);
      layers.push(l);
    };
    const signIn = { inputQuantizer: "ste_sign" } as const;
    push(
      new QuantConv2D(
        ctx,
        shape,
        { filters: 6, kernelSize: 3, padding: "same", padValue: -1, ...signIn },
        rng,
      ),
    );
    push(new BatchNorm(ctx, shape));
    push(new Flatten());
    push(new QuantDense(ctx, shape, { units: 10, ...signIn, useBias: true }, rng));
    const model = Model.chain(ctx, [9, 9, 3], layers, "custom");
    randomizeBatchNorms(model, 28);
    const { report, engineModel } = await convertAndVerify(model, randomImages(16, 243, 29));
    expect(engineModel.layers.map((l) => l.kind)).toEqual([
      "input",
      "bitpack",
      "unpack",
      "float_conv2d",
      "batchnorm",
      "flatten",
      "bitpack",
      "unpack",
      "float_dense",
    ]);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect(report.scores.maxRelativeError).toBe(0);
  });
});
