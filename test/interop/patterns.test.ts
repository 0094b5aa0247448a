/**
 * Binarization forms and graph shapes the PyTorch fixtures do not cover, in small graphs
 * written here: Larq's sign(sign(x) + 0.1), Where with Less/Greater (sign(0) = +1 or -1),
 * the straight-through residue behind a Clip, sign(W) with a per-channel alpha via
 * MatMul, Pad(+1) before a binary conv, dynamic dims. Each converted model is run
 * against onnxruntime on random inputs; the errors name the node.
 */
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/runtime.js";
import { exportOnnxWithProbes } from "../../src/interop/export-onnx.js";
import { importOnnx } from "../../src/interop/import.js";
import {
  AttributeType,
  encodeOnnx,
  type OnnxAttribute,
  type OnnxNode,
} from "../../src/interop/onnx-proto.js";
import { floatTensor, int64Tensor } from "../../src/interop/onnx-tensor.js";
import { formatOnnxReport, verifyOnnx } from "../../src/interop/verify-onnx.js";
import { Random } from "../../src/util/random.js";

type Attr = number | number[] | { f: number } | { t: number };
type NodeSpec = [op: string, inputs: string[], output: string, attrs?: Record<string, Attr>];

function onnxModel(
  nodes: NodeSpec[],
  floats: Record<string, { shape: number[]; data: ArrayLike<number> }>,
  input: (number | string)[],
  ints: Record<string, number[]> = {},
): Uint8Array {
  const node = ([op, inputs, output, attrs = {}]: NodeSpec, i: number): OnnxNode => ({
    opType: op,
    input: inputs,
    output: [output],
    name: `${op.toLowerCase()}_${i}`,
    attribute: Object.entries(attrs).map(
      ([name, v]): OnnxAttribute =>
        Array.isArray(v)
          ? { name, type: AttributeType.INTS, ints: v }
          : typeof v === "number"
            ? { name, type: AttributeType.INT, i: v }
            : "t" in v
              ? { name, type: AttributeType.TENSOR, t: floatTensor(name, [1], [v.t]) }
              : { name, type: AttributeType.FLOAT, f: v.f },
    ),
  });
  const dims = (d: (number | string)[]) => ({
    tensorType: {
      elemType: 1,
      shape: { dim: d.map((x) => (typeof x === "string" ? { dimParam: x } : { dimValue: x })) },
    },
  });
  return encodeOnnx({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "test",
      node: nodes.map(node),
      initializer: [
        ...Object.entries(floats).map(([n, t]) => floatTensor(n, t.shape, t.data)),
        ...Object.entries(ints).map(([n, v]) => int64Tensor(n, v)),
      ],
      input: [{ name: "x", type: dims(input) }],
      output: [{ name: "y", type: { tensorType: { elemType: 1 } } }],
    },
  });
}

const rng = new Random(11);
const normal = (n: number, scale = 1) => Array.from({ length: n }, () => rng.normal() * scale);
const signs = (n: number) => Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1));
const t = (shape: number[], data: ArrayLike<number>) => ({ shape, data });
const scalar = (v: number) => t([], [v]);

async function agrees(bytes: Uint8Array, options: Parameters<typeof importOnnx>[1], size: number) {
  const r = importOnnx(bytes, { file: "test.onnx", ...options });
  const engine = await Engine.load(r.model);
  const images = Uint8Array.from({ length: 300 * size }, () => rng.int(256));
  const report = await verifyOnnx(engine, bytes, images, 300, r.input, { probes: r.probes });
  engine.dispose();
  expect(report.ok, formatOnnxReport(report)).toBe(true);
  return r;
}

/** Batch-norm inputs (scale, bias, mean, var) for c channels, some scales negative. */
function bn(prefix: string, c: number) {
  return {
    [`${prefix}.s`]: t(
      [c],
      normal(c).map((v) => v + (v < -0.5 ? 0 : 0.3)),
    ),
    [`${prefix}.b`]: t([c], normal(c, 0.5)),
    [`${prefix}.m`]: t([c], normal(c, 2)),
    [`${prefix}.v`]: t(
      [c],
      normal(c).map((v) => 1 + v * v * 4),
    ),
  };
}

describe("binarization forms", () => {
  it("Larq sign(sign(x) + 0.1), sign(W) on latent weights, STE residue behind Clip, MatMul with +/-alpha", async () => {
    const alpha = [0.5, 0.25, 2, 1];
    const w2 = signs(24).map((s, i) => s * alpha[i % 4]!); // [6, 4]: column o scaled by alpha[o]
    const bytes = onnxModel(
      [
        ["Gemm", ["x", "w0", "b0"], "h0", { transB: 1 }],
        ["Sign", ["h0"], "s0"],
        ["Add", ["s0", "tenth"], "a0"],
        ["Sign", ["a0"], "q0"],
        ["Sign", ["w1latent"], "w1"],
        ["Gemm", ["q0", "w1"], "h1", { transB: 1 }],
        ["BatchNormalization", ["h1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], "y1"],
        ["Clip", ["y1", "minus1", "one"], "c1"],
        ["GreaterOrEqual", ["c1", "zero"], "ge1"],
        ["Where", ["ge1", "one", "minus1"], "w"],
        ["Sub", ["w", "c1"], "d1"],
        ["Add", ["c1", "d1"], "q1"],
        ["MatMul", ["q1", "w2"], "h2"],
        ["Add", ["h2", "b2"], "y"],
      ],
      {
        w0: t([8, 16], normal(128, 0.02)),
        b0: t([8], normal(8, 0.5)),
        tenth: scalar(0.1),
        w1latent: t([6, 8], normal(48)),
        ...bn("bn1", 6),
        minus1: scalar(-1),
        one: scalar(1),
        zero: scalar(0),
        w2: t([6, 4], w2),
        b2: t([4], normal(4)),
      },
      ["N", 16],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 16);
    expect(r.binarizers).toBe(3); // the inner sign of Larq's form is absorbed
    expect(r.warnings).toEqual([]);
    const kinds = r.model.layers.map((l) => l.kind);
    expect(kinds).toEqual(["input", "float_dense", "bitpack", "binary_dense", "binary_dense"]);
    const last = r.model.layers[4]!;
    expect(
      last.kind === "binary_dense" && last.output.kind === "affine" && Array.from(last.output.scale.data),
    ).toEqual(alpha);
  });

  it("Where(Less), Pad(+1) before a binary conv, pool before BN, Where(Greater) (sign(0) = -1), flatten by Reshape", async () => {
    const bytes = onnxModel(
      [
        ["Conv", ["x", "k0", "c0"], "h0", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["Less", ["h0", "zero"], "lt"],
        ["Where", ["lt", "minus1", "one"], "q0"],
        ["Pad", ["q0", "pads", "one"], "p0"],
        ["Conv", ["p0", "k1"], "h1", { kernel_shape: [3, 3] }],
        ["MaxPool", ["h1"], "m1", { kernel_shape: [2, 2], strides: [2, 2] }],
        ["BatchNormalization", ["m1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], "y1"],
        ["Greater", ["y1", "zero"], "gt"],
        ["Where", ["gt", "one", "minus1"], "q1"],
        ["Reshape", ["q1", "flat"], "f1"],
        ["Gemm", ["f1", "k2", "c2"], "y", { transB: 1 }],
      ],
      {
        k0: t([4, 1, 3, 3], normal(36, 0.01)),
        c0: t([4], normal(4, 0.5)),
        k1: t([5, 4, 3, 3], signs(180)),
        ...bn("bn1", 5),
        k2: t([3, 45], signs(135)),
        c2: t([3], normal(3)),
        zero: scalar(0),
        one: scalar(1),
        minus1: scalar(-1),
      },
      ["N", 1, 6, 6],
      { pads: [0, 0, 1, 1, 0, 0, 1, 1], flat: [-1, 45] },
    );
    const r = await agrees(bytes, {}, 36);
    expect(r.model.layers.map((l) => l.kind)).toEqual([
      "input",
      "float_conv2d",
      "bitpack",
      "binary_conv2d",
      "maxpool",
      "flatten",
      "binary_dense",
    ]);
    const conv = r.model.layers[3]!;
    expect(conv.kind === "binary_conv2d" && [conv.padValue, conv.padding]).toEqual([1, "same"]);
  });

  it("float path: AveragePool (same padding, pads not counted), GlobalAveragePool, Squeeze, Softmax", async () => {
    const bytes = onnxModel(
      [
        ["Conv", ["x", "k0", "c0"], "h0", { kernel_shape: [3, 3], strides: [2, 2] }],
        ["Relu", ["h0"], "r0"],
        ["AveragePool", ["r0"], "a0", { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }],
        ["GlobalAveragePool", ["a0"], "g0"],
        ["Squeeze", ["g0", "axes"], "s0"],
        ["Gemm", ["s0", "k1", "c1"], "z", { transB: 1 }],
        ["Softmax", ["z"], "y", { axis: 1 }],
      ],
      {
        k0: t([6, 2, 3, 3], normal(108, 0.02)),
        c0: t([6], normal(6, 0.5)),
        k1: t([4, 6], normal(24)),
        c1: t([4], normal(4)),
      },
      ["N", 2, 9, 9],
      { axes: [2, 3] },
    );
    const r = await agrees(bytes, {}, 162);
    expect(r.model.layers.map((l) => l.kind)).toEqual([
      "input",
      "float_conv2d",
      "relu",
      "avgpool",
      "avgpool",
      "flatten",
      "float_dense",
      "softmax",
    ]);
  });

  it("binary input into real weights (a float last layer): unpacked to +/-1 floats", async () => {
    const bytes = onnxModel(
      [
        ["Sign", ["x"], "s"],
        ["Gemm", ["s", "w", "b"], "y", { transB: 1 }],
      ],
      { w: t([4, 12], normal(48)), b: t([4], normal(4)) },
      ["N", 12],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 12);
    expect(r.model.layers.map((l) => l.kind)).toEqual(["input", "bitpack", "unpack", "float_dense"]);
    // Exported again, unpack is the identity on the graph's +/-1 floats: onnxruntime agrees.
    const exported = exportOnnxWithProbes(r.model);
    const engine = await Engine.load(r.model);
    const images = Uint8Array.from({ length: 300 * 12 }, () => rng.int(256));
    const raw = { name: "image", dims: [12], axes: [0], scale: 1, offset: 0 };
    const report = await verifyOnnx(engine, exported.bytes, images, 300, raw, { probes: exported.probes });
    engine.dispose();
    expect(report.ok, formatOnnxReport(report)).toBe(true);
  });

  it("an NHWC graph (tf2onnx/Larq): Transpose to NCHW at the input, back to NHWC before Flatten", async () => {
    const bytes = onnxModel(
      [
        ["Transpose", ["x"], "xt", { perm: [0, 3, 1, 2] }],
        ["Conv", ["xt", "k0"], "h0", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["Sign", ["h0"], "s0"],
        ["Add", ["s0", "tenth"], "a0"],
        ["Sign", ["a0"], "q0"],
        ["Conv", ["q0", "k1"], "h1", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["Transpose", ["h1"], "h1t", { perm: [0, 2, 3, 1] }],
        ["Flatten", ["h1t"], "f"],
        ["Gemm", ["f", "k2"], "y", { transB: 1 }],
      ],
      {
        k0: t([3, 2, 3, 3], normal(54, 0.01)),
        tenth: scalar(0.1),
        k1: t([4, 3, 3, 3], signs(108)),
        k2: t([5, 100], normal(500)),
      },
      ["N", 5, 5, 2],
    );
    const r = await agrees(bytes, {}, 50);
    expect(r.input.axes).toEqual([0, 1, 2]);
    expect(r.model.layers.map((l) => l.kind)).toEqual([
      "input",
      "float_conv2d",
      "bitpack",
      "binary_conv2d",
      "flatten",
      "float_dense",
    ]);
  });

  it("dynamic spatial dims need --input-shape", () => {
    const bytes = onnxModel(
      [
        ["Flatten", ["x"], "f", { axis: 1 }],
        ["Gemm", ["f", "w", "b"], "y", { transB: 1 }],
      ],
      { w: t([2, 9], normal(18)), b: t([2], normal(2)) },
      ["N", 1, "H", "W"],
    );
    expect(() => importOnnx(bytes, { file: "dyn.onnx" })).toThrow(
      "dyn.onnx: input dim 2 of 'x' is dynamic; pass --input-shape N,H,W,C",
    );
    const r = importOnnx(bytes, { file: "dyn.onnx", inputShape: [1, 3, 3, 1] });
    expect(r.model.layers[0]!.in.shape).toEqual([3, 3, 1]);
  });
});

describe("graphs (format 2.0)", () => {
  it("a residual Add of a float layer and its shortcut", async () => {
    const bytes = onnxModel(
      [
        ["Gemm", ["x", "w", "b"], "h", { transB: 1 }],
        ["Relu", ["h"], "r"],
        ["Add", ["r", "h"], "y"],
      ],
      { w: t([4, 4], normal(16)), b: t([4], normal(4)) },
      ["N", 4],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 4);
    expect(r.model.layers.map((l) => [l.kind, l.inputs])).toEqual([
      ["input", undefined],
      ["float_dense", undefined],
      ["relu", undefined],
      ["add", ["relu_1#1", "gemm_0#0"]],
    ]);
  });

  it("binary convs, a shared sign, Concat of channels, PRelu, a shift into a sign, GlobalAveragePool", async () => {
    const bytes = onnxModel(
      [
        ["Conv", ["x", "w0"], "c0", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["Sign", ["c0"], "s0"],
        ["Sign", ["w1latent"], "w1"],
        ["Conv", ["s0", "w1"], "c1", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["BatchNormalization", ["c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], "y1"],
        ["Sign", ["w2latent"], "w2"],
        ["Conv", ["s0", "w2"], "c2", { kernel_shape: [1, 1] }],
        ["Concat", ["y1", "c2", "c0"], "cat", { axis: 1 }],
        ["PRelu", ["cat", "slope"], "p"],
        ["Sub", ["p", "shift"], "q"],
        ["Sign", ["q"], "s1"],
        ["Sign", ["w3latent"], "w3"],
        ["Conv", ["s1", "w3"], "c3", { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }],
        ["Add", ["c3", "b3"], "d3"],
        ["GlobalAveragePool", ["d3"], "g"],
        ["Flatten", ["g"], "f", { axis: 1 }],
        ["Gemm", ["f", "w4", "b4"], "y", { transB: 1 }],
      ],
      {
        w0: t([4, 1, 3, 3], normal(36)),
        w1latent: t([4, 4, 3, 3], normal(144)),
        ...bn("bn1", 4),
        w2latent: t([4, 4, 1, 1], normal(16)),
        slope: t([12, 1, 1], normal(12, 0.3)),
        shift: t([12, 1, 1], normal(12, 0.2)),
        w3latent: t([6, 12, 3, 3], normal(648)),
        b3: t([6, 1, 1], normal(6)),
        w4: t([3, 6], normal(18)),
        b4: t([3], normal(3)),
      },
      ["N", 1, 6, 6],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 36);
    const layers = r.model.layers.map((l) => [l.kind, l.inputs]);
    expect(layers).toEqual([
      ["input", undefined],
      ["float_conv2d", undefined],
      ["bitpack", undefined],
      // The batch norm is the binary conv's affine output.
      ["binary_conv2d", undefined],
      ["binary_conv2d", ["sign_1#1"]],
      ["concat", ["conv_3#3", "conv_6#6", "conv_0#0"]],
      ["prelu", undefined],
      // The shift read only by a sign is the sign's thresholds.
      ["bitpack", undefined],
      ["binary_conv2d", undefined],
      ["globalavgpool", undefined],
      ["float_dense", undefined],
    ]);
    expect(r.model.layers[7]).toMatchObject({ kind: "bitpack", thresholds: { shape: [12] } });
  });
});

describe("PyTorch's symmetric pads (neither 'valid' nor 'same'): explicit pads in the engine", () => {
  it("a float Conv with pads 1, stride 2 on an even input", async () => {
    const bytes = onnxModel(
      [
        ["Conv", ["x", "w0", "b0"], "c0", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
        ["Flatten", ["c0"], "f", { axis: 1 }],
        ["Gemm", ["f", "w1"], "y", { transB: 1 }],
      ],
      { w0: t([3, 2, 3, 3], normal(54)), b0: t([3], normal(3)), w1: t([4, 27], normal(108)) },
      ["N", 2, 6, 6],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 72);
    expect(r.model.layers[1]).toMatchObject({
      kind: "float_conv2d",
      padding: [1, 1, 1, 1],
      weights: { shape: [3, 3, 3, 2] },
    });
    expect(r.warnings).toEqual([]);
  });

  it("a binary Conv with them, and a Pad(-1) folded into a stride-2 binary conv", async () => {
    const bytes = onnxModel(
      [
        ["Sign", ["x"], "s"],
        ["Sign", ["wl"], "w"],
        ["Conv", ["s", "w"], "c", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
        // Half an integer off: the integer dot is never 0 at the sign (torch.sign(0) = 0).
        ["Add", ["c", "half"], "ch"],
        ["Sign", ["ch"], "s2"],
        ["Pad", ["s2", "pads", "minus"], "p"],
        ["Sign", ["wl2"], "w2"],
        ["Conv", ["p", "w2"], "c2", { kernel_shape: [3, 3], strides: [2, 2] }],
        ["Flatten", ["c2"], "f", { axis: 1 }],
        ["Gemm", ["f", "head"], "y", { transB: 1 }],
      ],
      {
        wl: t([3, 2, 3, 3], normal(54)),
        wl2: t([4, 3, 3, 3], normal(108)),
        minus: scalar(-1),
        half: scalar(0.5),
        head: t([3, 16], normal(48)),
      },
      ["N", 2, 8, 8],
      { pads: [0, 0, 2, 1, 0, 0, 0, 1] },
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 128);
    const convs = r.model.layers.filter((l) => l.kind === "binary_conv2d");
    // 8x8 -> 4x4 (pads 1 a side), then pads [2, 1, 0, 1] with value -1: 3x2.
    expect(convs.map((l) => [l.padding, l.padValue, l.out.shape])).toEqual([
      [[1, 1, 1, 1], 0, [4, 4, 3]],
      [[2, 1, 0, 1], -1, [2, 2, 4]],
    ]);
  });

  it("a MaxPool with them, and a Pad(-inf) before a MaxPool", async () => {
    const bytes = onnxModel(
      [
        ["MaxPool", ["x"], "p", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
        ["Pad", ["p", "pads", "ninf"], "q"],
        ["MaxPool", ["q"], "r", { kernel_shape: [2, 2], strides: [1, 1] }],
        ["Flatten", ["r"], "f", { axis: 1 }],
        ["Gemm", ["f", "head"], "y", { transB: 1 }],
      ],
      { ninf: scalar(Number.NEGATIVE_INFINITY), head: t([3, 9], normal(27)) },
      ["N", 1, 6, 6],
      { pads: [0, 0, 1, 0, 0, 0, 0, 1] },
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 36);
    expect(r.model.layers.filter((l) => l.kind === "maxpool").map((l) => l.padding)).toEqual([
      [1, 1, 1, 1],
      [1, 0, 0, 1],
    ]);
  });

  it("pads the engine cannot take are refused, naming the node", () => {
    const bytes = onnxModel(
      [
        ["MaxPool", ["x"], "p", { kernel_shape: [2, 2], strides: [2, 2], pads: [2, 0, 0, 0] }],
        ["Flatten", ["p"], "y", { axis: 1 }],
      ],
      {},
      ["N", 1, 6, 6],
    );
    expect(() => importOnnx(bytes, { file: "pool.onnx" })).toThrow(
      /^pool\.onnx: node 0 'maxpool_0' \(MaxPool\): pads \[2,0,0,0\] with a 2x2 window: the engine takes per-side pads from 0 to the window size - 1$/,
    );
  });
});

describe("PyTorch's training-time idioms", () => {
  it("x + bias.expand_as(x), Bi-Real's residue sign(x) - p(x) + p(x), weights alpha * sign(w) - clamp(w) + clamp(w)", async () => {
    const bytes = onnxModel(
      [
        ["Shape", ["x"], "shape"],
        ["Expand", ["bias", "shape"], "be"],
        ["Add", ["x", "be"], "xb"],
        ["Sign", ["xb"], "sg"],
        // p(x): a polynomial over masks, as Bi-Real Net's code computes it.
        ["Less", ["xb", "zero"], "m"],
        ["Cast", ["m"], "mf", { to: 1 }],
        ["Mul", ["xb", "xb"], "x2"],
        ["Mul", ["x2", "mf"], "p"],
        ["Sub", ["sg", "p"], "d"],
        ["Add", ["d", "p"], "bin"],
        ["Abs", ["wl"], "wa"],
        ["ReduceMean", ["wa"], "alpha", { axes: [1, 2, 3], keepdims: 1 }],
        ["Sign", ["wl"], "ws"],
        ["Mul", ["alpha", "ws"], "aw"],
        ["Clip", ["wl", "lo", "hi"], "cw"],
        ["Sub", ["aw", "cw"], "dw"],
        ["Add", ["dw", "cw"], "w"],
        ["Conv", ["bin", "w"], "c", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
        ["GlobalAveragePool", ["c"], "g"],
        ["Flatten", ["g"], "f", { axis: 1 }],
        ["Gemm", ["f", "head"], "y", { transB: 1 }],
      ],
      {
        bias: t([1, 2, 1, 1], [0.1, -0.2]),
        zero: scalar(0),
        wl: t([4, 2, 3, 3], normal(72, 0.5)),
        lo: scalar(-1),
        hi: scalar(1),
        head: t([3, 4], normal(12)),
      },
      ["N", 2, 6, 6],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 72);
    // The shift becomes the sign's threshold, the polynomial is gone, the weights are +/-alpha.
    expect(r.model.layers.map((l) => l.kind)).toEqual([
      "input",
      "bitpack",
      "binary_conv2d",
      "globalavgpool",
      "float_dense",
    ]);
    expect(r.model.layers[1]).toMatchObject({ thresholds: { data: Float32Array.of(-0.1, 0.2) } });
  });

  it("torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x)) behind hardtanh, straight through", async () => {
    const bytes = onnxModel(
      [
        ["Clip", ["x", "lo", "hi"], "h"],
        ["Shape", ["h"], "shape"],
        ["ConstantOfShape", ["shape"], "ones", { value: { t: 1 } }],
        ["Neg", ["ones"], "minus"],
        ["GreaterOrEqual", ["h", "zero"], "ge"],
        ["Where", ["ge", "ones", "minus"], "s"],
        ["Sub", ["s", "h"], "d"],
        ["Add", ["h", "d"], "ste"],
        ["Sign", ["wl"], "w"],
        ["Conv", ["ste", "w"], "c", { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
        ["Flatten", ["c"], "f", { axis: 1 }],
        ["Gemm", ["f", "head"], "y", { transB: 1 }],
      ],
      {
        lo: scalar(-1),
        hi: scalar(1),
        zero: scalar(0),
        wl: t([2, 1, 3, 3], normal(18)),
        head: t([3, 32], normal(96)),
      },
      ["N", 1, 4, 4],
    );
    const r = await agrees(bytes, { inputRange: [-1, 1] }, 16);
    expect(r.model.layers.map((l) => l.kind)).toEqual([
      "input",
      "bitpack",
      "binary_conv2d",
      "flatten",
      "float_dense",
    ]);
    expect(r.warnings).toEqual([]);
  });

  it("a constant computed far beyond the file's own is refused, naming the node", () => {
    const bytes = onnxModel(
      [
        ["ConstantOfShape", ["big"], "c", { value: { t: 1 } }],
        ["Add", ["x", "c"], "y"],
      ],
      {},
      ["N", 4],
      { big: [4096, 4096] },
    );
    expect(() => importOnnx(bytes, { file: "big.onnx" })).toThrow(
      /^big\.onnx: node 0 'constantofshape_0' \(ConstantOfShape\): computing a constant of shape \[4096,4096\] exceeds what the file's own constants justify/,
    );
  });
});

describe("torch.sign(0) = 0 against onebit's +1", () => {
  it("--verify counts the images with an exact zero at a Sign as ties, apart from rounding ties", async () => {
    // x - fround(128 / 255) is exactly 0 where the pixel is 128 (the input layer rounds once).
    const bytes = onnxModel(
      [
        ["Flatten", ["x"], "f", { axis: 1 }],
        ["Sub", ["f", "c"], "d"],
        ["Sign", ["d"], "s"],
        ["Gemm", ["s", "w"], "y", { transB: 1 }],
      ],
      { c: t([4], [128 / 255, 128 / 255, 128 / 255, 128 / 255]), w: t([3, 4], normal(12)) },
      ["N", 1, 2, 2],
    );
    const r = importOnnx(bytes, { file: "zero.onnx" });
    expect(r.warnings).toEqual([expect.stringMatching(/binarizes exactly 0 to 0, onebit's bitpack to \+1/)]);
    const engine = await Engine.load(r.model);
    const images = Uint8Array.from({ length: 400 * 4 }, (_, i) => (i % 97 === 0 ? 128 : rng.int(256)));
    const report = await verifyOnnx(engine, bytes, images, 400, r.input, { probes: r.probes });
    engine.dispose();
    const zeros = report.ties.filter((d) => d.kind === "zero");
    expect(zeros.length).toBeGreaterThan(0);
    expect(zeros.length).toBe(report.imagesDiffering);
    expect(report.ok).toBe(true);
    expect(formatOnnxReport(report)).toMatch(
      new RegExp(
        `0 of them only through float rounding ties at a binarization, ${zeros.length} through exact zeros at a sign`,
      ),
    );
  });
});

describe("what the engine cannot express is refused, naming the node", () => {
  it("an op other than Add or Concat on two activations", () => {
    const bytes = onnxModel(
      [
        ["Gemm", ["x", "w", "b"], "h", { transB: 1 }],
        ["Relu", ["h"], "r"],
        ["Mul", ["r", "h"], "y"],
      ],
      { w: t([4, 4], normal(16)), b: t([4], normal(4)) },
      ["N", 4],
    );
    expect(() => importOnnx(bytes, { file: "res.onnx" })).toThrow(
      /res\.onnx: node 2 'mul_2' \(Mul\): op 'Mul' on 2 activations \('r', 'h'\) is not supported/,
    );
  });

  it("an Add of values of different layouts", () => {
    const bytes = onnxModel(
      [
        ["Transpose", ["x"], "t", { perm: [0, 1, 3, 2] }],
        ["Add", ["t", "x"], "a"],
        ["Flatten", ["a"], "y", { axis: 1 }],
      ],
      {},
      ["N", 2, 3, 3],
    );
    expect(() => importOnnx(bytes, { file: "res.onnx" })).toThrow(
      /node 1 'add_1' \(Add\): adds \[2,3,3\] and \[2,3,3\]: a residual Add needs two values of one shape and layout/,
    );
  });

  it("a Clip with no binarization after it", () => {
    const bytes = onnxModel(
      [
        ["Gemm", ["x", "w"], "h", { transB: 1 }],
        ["Clip", ["h", "lo", "hi"], "y"],
      ],
      { w: t([4, 4], normal(16)), lo: scalar(-1), hi: scalar(1) },
      ["N", 4],
    );
    expect(() => importOnnx(bytes, { file: "clip.onnx" })).toThrow(
      /node 1 'clip_1' \(Clip\): Clip on float activations/,
    );
  });
});
