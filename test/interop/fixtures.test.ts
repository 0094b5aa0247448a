/**
 * The importer on ONNX files exported by PyTorch (test/fixtures/onnx, made by
 * scripts/make-onnx-fixtures.py; the residual graph by scripts/make-birealnet-onnx.py):
 * each imports into the engine layers its binarization
 * style implies and agrees with onnxruntime on 500 MNIST test images; malformed files are
 * rejected with a message naming the fault.
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

let mnist: DataSplits;
beforeAll(async () => {
  mnist = await loadDataset("mnist", { limitTrain: 0, limitTest: 500 });
});

const FIXTURES: { file: string; range: [number, number]; kinds: string[]; minAccuracy: number }[] = [
  {
    file: "mlp-sign.onnx",
    range: [0, 1],
    // The last batch norm becomes the last binary layer's affine output transform.
    kinds: ["input", "flatten", "float_dense", "batchnorm", "bitpack", "binary_dense", "binary_dense"],
    minAccuracy: 0.85,
  },
  {
    file: "cnn-where.onnx",
    range: [-1, 1],
    // torch.onnx.export folds the first BatchNorm into its Conv.
    kinds: [
      "input",
      "float_conv2d",
      "bitpack",
      "binary_conv2d",
      "maxpool",
      "binary_conv2d",
      "maxpool",
      "flatten",
      "binary_dense",
    ],
    minAccuracy: 0.85,
  },
  {
    file: "cnn-ste.onnx",
    range: [-1, 1],
    kinds: [
      "input",
      "float_conv2d",
      "bitpack",
      "maxpool",
      "binary_conv2d",
      "binary_conv2d",
      "maxpool",
      "flatten",
      "float_dense",
      "softmax",
    ],
    minAccuracy: 0.85,
  },
  {
    file: "float-cnn.onnx",
    range: [0, 1],
    kinds: [
      "input",
      "float_conv2d",
      "relu",
      "maxpool",
      "float_conv2d",
      "relu",
      "maxpool",
      "flatten",
      "float_dense",
      "relu",
      "float_dense",
    ],
    minAccuracy: 0.85,
  },
  {
    // scripts/make-birealnet-onnx.py: torch.onnx.export folds each BatchNorm after a float
    // conv into it; a binary conv's BatchNorm stays (the residual sum needs it as a float).
    file: "birealnet-block.onnx",
    range: [0, 1],
    kinds: [
      "input",
      "float_conv2d",
      "bitpack",
      "binary_conv2d",
      "batchnorm",
      "add",
      "avgpool",
      "float_conv2d",
      "bitpack",
      "binary_conv2d",
      "batchnorm",
      "add",
      "globalavgpool",
      "float_dense",
    ],
    minAccuracy: 0.25,
  },
];

describe("import PyTorch exports", () => {
  it.each(FIXTURES)("$file: expected layers, identical to onnxruntime on 500 images", async (f) => {
    const bytes = read(f.file);
    const r = importOnnx(bytes, { file: f.file, inputRange: f.range });
    expect(r.model.layers.map((l) => l.kind)).toEqual(f.kinds);
    const engine = await Engine.load(r.model);
    const test = mnist.test;
    const report = await verifyOnnx(engine, bytes, test.images, test.count, r.input, {
      labels: test.labels,
      probes: r.probes,
    });
    engine.dispose();
    expect(report.ok, formatOnnxReport(report)).toBe(true);
    expect(report.accuracy!.engine).toBeGreaterThan(f.minAccuracy);
  });

  it("cnn-ste.onnx: the explicit Pad(-1) nodes (computed by Shape/ConstantOfShape/Slice chains) become padValue -1", () => {
    const r = importOnnx(read("cnn-ste.onnx"), { file: "cnn-ste.onnx", inputRange: [-1, 1] });
    const convs = r.model.layers.filter((l) => l.kind === "binary_conv2d");
    expect(convs.map((l) => [l.padValue, l.padding])).toEqual([
      [-1, "same"],
      [-1, "same"],
    ]);
  });

  it("a wrong input range is caught by the verification, not silently accepted", async () => {
    const bytes = read("cnn-where.onnx");
    const r = importOnnx(bytes, { file: "cnn-where.onnx", inputRange: [-1, 1] });
    const engine = await Engine.load(r.model);
    const test = mnist.test;
    // Feed onnxruntime [0, 1] inputs while the engine maps pixels onto [-1, 1].
    const report = await verifyOnnx(engine, bytes, test.images, 100, {
      ...r.input,
      scale: 1 / 255,
      offset: 0,
    });
    engine.dispose();
    expect(report.ok).toBe(false);
    expect(formatOnnxReport(report)).toMatch(/MISMATCH/);
  });
});

describe("malformed ONNX", () => {
  it("truncated file", () => {
    expect(() => importOnnx(read("truncated.onnx"), { file: "truncated.onnx" })).toThrow(
      /^truncated\.onnx: not a valid ONNX file \(protobuf decoding failed: .*\); is it truncated\?$/,
    );
  });

  it("wrong opset", () => {
    expect(() => importOnnx(read("wrong-opset.onnx"), { file: "wrong-opset.onnx" })).toThrow(
      "wrong-opset.onnx: ai.onnx opset 99 is not supported; onebit imports opsets 9 to 22",
    );
  });

  it("unknown op: named with its node and position, and the supported ops listed", () => {
    expect(() => importOnnx(read("unknown-op.onnx"), { file: "unknown-op.onnx" })).toThrow(
      /^unknown-op\.onnx: node \d+ '[^']+' \(Selu\): op 'Selu' is not supported\. Supported ops: Conv, Gemm, MatMul, BatchNormalization, Sign/,
    );
  });

  it("random bytes and an empty file", () => {
    expect(() => importOnnx(new Uint8Array(0), { file: "empty.onnx" })).toThrow(
      /empty\.onnx: not an ONNX model/,
    );
    const junk = Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 255);
    expect(() => importOnnx(junk, { file: "junk.onnx" })).toThrow(
      /^junk\.onnx: not (a valid ONNX file|an ONNX model)/,
    );
  });
});
