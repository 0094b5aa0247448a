/** The residual worked example of docs/format.md (section 8), built through the public API. */
import type { EngineModel } from "../../src/engine/model.js";

const f32 = (...v: number[]) => ({ dtype: "f32" as const, shape: [v.length], data: Float32Array.from(v) });
const image = { layout: "float" as const, shape: [2, 2, 2] };

export function residualModel(): EngineModel {
  return {
    name: "residual",
    classNames: ["a", "b"],
    layers: [
      { kind: "input", name: "input", in: image, out: image, scale: [0.00784313725490196], offset: [-1] },
      {
        kind: "bitpack",
        name: "rsign",
        in: image,
        out: { layout: "bits", shape: [2, 2, 2] },
        thresholds: f32(-0.25, 0.5),
      },
      {
        kind: "binary_conv2d",
        name: "conv",
        in: { layout: "bits", shape: [2, 2, 2] },
        out: image,
        weights: { dtype: "bits", shape: [2, 1, 1, 2], data: Uint32Array.of(0b01, 0b11) },
        strides: [1, 1],
        padding: "valid",
        padValue: 0,
        output: { kind: "affine", scale: f32(0.5, 0.5), bias: f32(0, 0) },
      },
      {
        kind: "batchnorm",
        name: "bn",
        in: image,
        out: image,
        mean: f32(0.5, -0.5),
        invStd: f32(1, 2),
        gamma: f32(1, 1),
        beta: f32(0.125, -0.125),
      },
      { kind: "add", name: "block", inputs: ["bn", "input"], in: image, out: image },
      { kind: "globalavgpool", name: "pool", in: image, out: { layout: "float", shape: [2] } },
      {
        kind: "float_dense",
        name: "head",
        in: { layout: "float", shape: [2] },
        out: { layout: "float", shape: [2] },
        weights: { dtype: "f32", shape: [2, 2], data: Float32Array.of(1, -1, -1, 1) },
        bias: f32(0, 0.5),
      },
    ],
    metadata: {},
  };
}
