/** A small model that uses every layer kind, with seeded random parameters. */

import type {
  ActivationSpec,
  BitTensor,
  EngineModel,
  F32Tensor,
  I32Tensor,
  Layer,
} from "../../src/engine/model.js";
import { packSigns } from "../../src/kernels/bits.js";
import { Random } from "../../src/util/random.js";

export function everyLayerModel(seed = 1): EngineModel {
  const rng = new Random(seed);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const f32 = (shape: number[]): F32Tensor => ({
    dtype: "f32",
    shape,
    data: Float32Array.from({ length: size(shape) }, () => rng.uniform(-1, 1)),
  });
  const i32 = (shape: number[], k: number): I32Tensor => ({
    dtype: "i32",
    shape,
    data: Int32Array.from({ length: size(shape) }, () => rng.int(2 * k + 1) - k),
  });
  const bits = (shape: number[]): BitTensor => {
    const c = shape[shape.length - 1]!;
    const values = Float32Array.from({ length: size(shape) }, () => rng.uniform(-1, 1));
    return { dtype: "bits", shape, data: packSigns(values, size(shape) / c, c) };
  };
  const float = (...shape: number[]): ActivationSpec => ({ layout: "float", shape });
  const packed = (...shape: number[]): ActivationSpec => ({ layout: "bits", shape });
  const layers: Layer[] = [
    {
      kind: "input",
      name: "input",
      in: float(8, 8, 3),
      out: float(8, 8, 3),
      scale: [1 / 255],
      offset: [-0.5],
    },
    {
      kind: "float_conv2d",
      name: "conv0",
      in: float(8, 8, 3),
      out: float(8, 8, 40),
      weights: f32([40, 3, 3, 3]),
      bias: f32([40]),
      strides: [1, 1],
      padding: "same",
      padValue: 0,
    },
    {
      kind: "batchnorm",
      name: "bn0",
      in: float(8, 8, 40),
      out: float(8, 8, 40),
      mean: f32([40]),
      invStd: f32([40]),
      gamma: f32([40]),
      beta: f32([40]),
    },
    { kind: "relu", name: "relu0", in: float(8, 8, 40), out: float(8, 8, 40) },
    { kind: "bitpack", name: "sign0", in: float(8, 8, 40), out: packed(8, 8, 40) },
    {
      kind: "binary_conv2d",
      name: "conv1",
      in: packed(8, 8, 40),
      out: packed(8, 8, 33),
      weights: bits([33, 3, 3, 40]),
      strides: [1, 1],
      padding: "same",
      padValue: 0,
      output: { kind: "threshold", thresholds: i32([33], 360), flip: bits([33]) },
      quantization: { inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign", scaling: "none" },
    },
    {
      kind: "maxpool",
      name: "pool1",
      in: packed(8, 8, 33),
      out: packed(4, 4, 33),
      poolSize: [2, 2],
      strides: [2, 2],
      padding: "valid",
      flip: bits([33]),
    },
    {
      kind: "binary_conv2d",
      name: "conv2",
      in: packed(4, 4, 33),
      out: float(4, 4, 16),
      weights: bits([16, 1, 1, 33]),
      strides: [1, 1],
      padding: "valid",
      padValue: -1,
      output: { kind: "affine", scale: f32([16]), bias: f32([16]) },
    },
    {
      kind: "avgpool",
      name: "pool2",
      in: float(4, 4, 16),
      out: float(2, 2, 16),
      poolSize: [2, 2],
      strides: [2, 2],
      padding: "same",
    },
    {
      kind: "maxpool",
      name: "pool3",
      in: float(2, 2, 16),
      out: float(2, 2, 16),
      poolSize: [1, 1],
      strides: [1, 1],
      padding: "valid",
    },
    { kind: "flatten", name: "flatten", in: float(2, 2, 16), out: float(64) },
    { kind: "bitpack", name: "sign3", in: float(64), out: packed(64) },
    {
      kind: "binary_dense",
      name: "dense4",
      in: packed(64),
      out: float(20),
      weights: bits([20, 64]),
      output: { kind: "affine", scale: f32([20]), bias: f32([20]) },
    },
    { kind: "float_dense", name: "dense5", in: float(20), out: float(10), weights: f32([10, 20]) },
    { kind: "softmax", name: "softmax", in: float(10), out: float(10) },
  ];
  return {
    name: "every-layer",
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    layers,
    metadata: { dataset: "synthetic", epochs: 3, accuracy: 0.5, quantizer: { name: "ste_sign", bits: 1 } },
  };
}
