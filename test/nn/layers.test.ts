import { afterEach, describe, expect, it, vi } from "vitest";
import { buildModel } from "../../src/nn/build.js";
import { QuantConv2D, QuantDense } from "../../src/nn/quantLayers.js";
import { mul, sum } from "../../src/ops/index.js";
import { quantize } from "../../src/quant/op.js";
import { sign } from "../../src/quant/quantizers.js";
import { type Context, createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

const mode = { training: true, rng: new Random(1) };
const sgn = (v: number) => (v >= 0 ? 1 : -1);

afterEach(() => vi.restoreAllMocks());

async function ctxRef(): Promise<Context> {
  return createContext("ref");
}

describe("quantize op", () => {
  it("forward is the quantizer, backward its pseudo-gradient (STE with zeros and +/-1)", async () => {
    const ctx = await ctxRef();
    const xs = [-2, -1, -0.5, 0, 0.5, 1, 1.5];
    const x = ctx.parameter(ctx.fromArray(xs));
    const w = ctx.fromArray([1, 2, 3, 4, 5, 6, 7]);
    const y = quantize(sign, x, { channels: 1, training: true });
    expect([...y.data]).toEqual([-1, -1, -1, 1, 1, 1, 1]);
    sum(mul(y, w)).backward();
    expect([...x.grad!.data]).toEqual([0, 2, 3, 4, 5, 6, 0]);
  });
});

describe("QuantDense", () => {
  it("binary: y = sign(x) sign(W)^T, kernel [out, in]", async () => {
    const ctx = await ctxRef();
    const layer = new QuantDense(
      ctx,
      [3],
      { units: 2, inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign" },
      new Random(3),
    );
    const [kernel] = layer.params();
    expect(kernel!.tensor.shape).toEqual([2, 3]);
    expect(kernel!.clip).toBe(1);
    expect(kernel!.binary).toBe(true);
    const w = kernel!.tensor.toArray();
    const xs = [0.3, 0, -2];
    const y = layer.forward(ctx.fromArray(xs, [1, 3]), mode);
    const want = [0, 1].map((o) => xs.reduce((s, v, i) => s + sgn(v) * sgn(w[o * 3 + i]!), 0));
    expect([...y.data]).toEqual(want);
  });

  it("xnor scaling: y = (sign(x) . sign(W)) * K * alpha, K = mean |x|, alpha = mean |W| per unit", async () => {
    const ctx = await ctxRef();
    const layer = new QuantDense(
      ctx,
      [4],
      { units: 2, inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign", scaling: "xnor" },
      new Random(0),
    );
    const w = [0.5, -0.5, 0.25, 1, -0.1, 0.2, -0.3, 0.4];
    layer.params()[0]!.tensor.data.set(w);
    const xs = [1, -2, 0.5, -0.5];
    const y = layer.forward(ctx.fromArray(xs, [1, 4]), mode);
    const k = (1 + 2 + 0.5 + 0.5) / 4;
    const alpha = [(0.5 + 0.5 + 0.25 + 1) / 4, (0.1 + 0.2 + 0.3 + 0.4) / 4];
    // sign(x) = [1, -1, 1, -1]; sign(W0) = [1, -1, 1, 1] -> dot 2; sign(W1) = [-1, 1, -1, 1] -> dot -4
    expect(y.data[0]).toBeCloseTo(2 * k * alpha[0]!, 5);
    expect(y.data[1]).toBeCloseTo(-4 * k * alpha[1]!, 5);
    expect(layer.config).toMatchObject({
      scaling: "xnor",
      kernelQuantizer: { name: "magnitude_aware_sign" },
    });
  });

  it("warns when a binary kernel has no clip, and names the layer", async () => {
    const ctx = await ctxRef();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    new QuantDense(
      ctx,
      [3],
      { units: 2, kernelQuantizer: "ste_sign", kernelClip: 0 },
      new Random(0),
      "layers.7",
    );
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/layers\.7: binary kernel without a latent-weight clip/),
    );
  });

  it("clips k-bit kernels to [-1, 1] too, float kernels not; only 1-bit kernels count as binary", async () => {
    const ctx = await ctxRef();
    const q4 = new QuantDense(
      ctx,
      [3],
      { units: 2, kernelQuantizer: { name: "dorefa", options: { k: 4 } } },
      new Random(0),
    );
    expect(q4.params()[0]).toMatchObject({ clip: 1, binary: false });
    const f = new QuantDense(ctx, [3], { units: 2 }, new Random(0));
    expect(f.params()[0]).toMatchObject({ clip: 0, binary: false });
  });

  it("names a non-flat input", async () => {
    const ctx = await ctxRef();
    expect(() => new QuantDense(ctx, [4, 4], { units: 2 }, new Random(0), "layers.2")).toThrow(
      /layers\.2: expects a flat input/,
    );
  });
});

describe("QuantConv2D", () => {
  it("xnor scaling on a hand-computed 3x3 image: output = dot * K * alpha", async () => {
    const ctx = await ctxRef();
    const layer = new QuantConv2D(
      ctx,
      [3, 3, 1],
      { filters: 1, kernelSize: 2, inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign", scaling: "xnor" },
      new Random(0),
    );
    layer.params()[0]!.tensor.data.set([0.5, -0.5, 0.5, 0.5]); // alpha = 0.5, signs [+,-,+,+]
    const img = [1, -2, 3, -4, 5, -6, 7, -8, 9];
    const y = layer.forward(ctx.fromArray(img, [1, 3, 3, 1]), mode);
    const want: number[] = [];
    for (const [oy, ox] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ] as const) {
      const win = [
        img[oy * 3 + ox]!,
        img[oy * 3 + ox + 1]!,
        img[(oy + 1) * 3 + ox]!,
        img[(oy + 1) * 3 + ox + 1]!,
      ];
      const dot = win.reduce((s, v, i) => s + sgn(v) * [1, -1, 1, 1][i]!, 0);
      const k = win.reduce((s, v) => s + Math.abs(v), 0) / 4;
      want.push(dot * k * 0.5);
    }
    const got = y.toArray();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it("reads padValue outside the image", async () => {
    const ctx = await ctxRef();
    const outs = [-1, 0, 1].map((padValue) => {
      const layer = new QuantConv2D(
        ctx,
        [2, 2, 1],
        { filters: 1, kernelSize: 3, padding: "same", padValue: padValue as -1 | 0 | 1 },
        new Random(0),
      );
      layer.params()[0]!.tensor.data.fill(1);
      return layer.forward(ctx.fromArray([1, 1, 1, 1], [1, 2, 2, 1]), mode).data[0]!;
    });
    // 4 in-bounds ones plus 5 padding positions of value p.
    expect(outs).toEqual([4 - 5, 4, 4 + 5]);
  });

  it("rejects a pad value outside {-1, 0, 1}", async () => {
    const ctx = await ctxRef();
    expect(
      () =>
        new QuantConv2D(
          ctx,
          [2, 2, 1],
          { filters: 1, kernelSize: 3, padValue: 2 as never },
          new Random(0),
          "layers.0",
        ),
    ).toThrow(/layers\.0: padValue must be -1, 0 or \+1/);
  });
});

describe("model builders", () => {
  it("bnn-cnn is the Larq tutorial CNN with float first and last layers by default", async () => {
    const ctx = await ctxRef();
    const m = buildModel(ctx, { builder: "bnn-cnn", options: {} }, new Random(0));
    expect(m.layers.map((l) => l.type)).toEqual([
      "quant_conv2d",
      "max_pool",
      "batch_norm",
      "quant_conv2d",
      "max_pool",
      "batch_norm",
      "quant_conv2d",
      "batch_norm",
      "flatten",
      "quant_dense",
      "batch_norm",
      "quant_dense",
      "batch_norm",
    ]);
    // Binary: 3x3x32->64, 3x3x64->64, 576->64. Float: 3x3x1->32, 64->10, BN betas (scale = false).
    expect(m.paramCounts()).toEqual({
      binary: 9 * 32 * 64 + 9 * 64 * 64 + 576 * 64,
      float: 9 * 32 + 64 * 10 + 32 + 64 + 64 + 64 + 10,
    });
    expect(m.layers[0]!.config).toMatchObject({ inputQuantizer: null, kernelQuantizer: null });
    expect(m.layers[11]!.config).toMatchObject({
      inputQuantizer: { name: "ste_sign" },
      kernelQuantizer: null,
    });
  });

  it("first/last options binarize the outer layers (the PyTorch reference: first bwn, last binary)", async () => {
    const ctx = await ctxRef();
    const m = buildModel(
      ctx,
      { builder: "bnn-cnn", options: { first: "bwn", last: "binary" } },
      new Random(0),
    );
    expect(m.layers[0]!.config).toMatchObject({
      inputQuantizer: null,
      kernelQuantizer: { name: "ste_sign" },
    });
    expect(m.layers[11]!.config).toMatchObject({ kernelQuantizer: { name: "ste_sign" } });
    expect(m.paramCounts().binary).toBe(9 * 32 + 9 * 32 * 64 + 9 * 64 * 64 + 576 * 64 + 640);
  });

  it("xnor-cnn uses XNOR scaling and the block order BN -> binarize -> conv -> pool", async () => {
    const ctx = await ctxRef();
    const m = buildModel(ctx, { builder: "xnor-cnn", options: {} }, new Random(0));
    const types = m.layers.map((l) => l.type);
    expect(types.slice(2, 5)).toEqual(["batch_norm", "quant_conv2d", "max_pool"]);
    expect(m.layers[3]!.config).toMatchObject({ scaling: "xnor", inputQuantizer: { name: "ste_sign" } });
  });

  it("bwn-cnn binarizes weights only; float twins have no quantizers", async () => {
    const ctx = await ctxRef();
    const bwn = buildModel(ctx, { builder: "bwn-cnn", options: {} }, new Random(0));
    const quant = bwn.layers.filter((l) => l.type.startsWith("quant_"));
    expect(quant.every((l) => l.config.inputQuantizer === null)).toBe(true);
    expect(quant.filter((l) => l.config.kernelQuantizer !== null)).toHaveLength(3);
    for (const builder of ["bnn-mlp", "bnn-cnn", "xnor-cnn", "bwn-cnn"]) {
      // width is the MLP's option; the CNNs' is widthMultiplier (width would be refused).
      const options = builder === "bnn-mlp" ? { float: true, width: 8 } : { float: true };
      const f = buildModel(ctx, { builder, options }, new Random(0));
      expect(f.paramCounts().binary).toBe(0);
      expect(f.layers.some((l) => l.type === "activation")).toBe(true);
    }
  });

  it("bnn-mlp width is configurable (4096 as in the paper)", async () => {
    const ctx = await ctxRef();
    const m = buildModel(ctx, { builder: "bnn-mlp", options: { width: 4096 } }, new Random(0));
    expect(m.params().find((p) => p.name === "quant_dense_2.kernel")?.tensor.shape).toEqual([4096, 4096]);
    m.dispose();
  });

  it("names an unknown builder", async () => {
    const ctx = await ctxRef();
    expect(() => buildModel(ctx, { builder: "resnet", options: {} }, new Random(0))).toThrow(
      /unknown model 'resnet'; choose one of: bnn-mlp, bnn-cnn, xnor-cnn, bwn-cnn/,
    );
  });
});
