/** The activation an engine layer produces, from its input and parameters (for the converter). */
import type { ActivationSpec, Layer } from "../engine/model.js";
import { convGeometry } from "../kernels/geometry.js";

export function outputSpec(layer: Layer): ActivationSpec {
  const input = layer.in;
  const [h, w, c] = input.shape as [number, number, number];
  switch (layer.kind) {
    case "float_conv2d":
    case "bwn_conv2d":
    case "binary_conv2d": {
      const [o, kh, kw] = layer.weights.shape as [number, number, number];
      const g = convGeometry(1, h, w, c, kh, kw, layer.strides[0], layer.strides[1], layer.padding);
      const layout = layer.kind !== "binary_conv2d" || layer.output.kind === "affine" ? "float" : "bits";
      return { layout, shape: [g.outH, g.outW, o] };
    }
    case "float_dense":
    case "bwn_dense":
      return { layout: "float", shape: [layer.weights.shape[0]!] };
    case "binary_dense":
      return { layout: layer.output.kind === "affine" ? "float" : "bits", shape: [layer.weights.shape[0]!] };
    case "bitpack":
      return { layout: "bits", shape: [...input.shape] };
    case "unpack":
      return { layout: "float", shape: [...input.shape] };
    case "maxpool":
    case "avgpool": {
      const [ph, pw] = layer.poolSize;
      const g = convGeometry(1, h, w, c, ph, pw, layer.strides[0], layer.strides[1], layer.padding);
      return { layout: input.layout, shape: [g.outH, g.outW, c] };
    }
    case "flatten":
      return { layout: input.layout, shape: [input.shape.reduce((a, b) => a * b, 1)] };
    case "globalavgpool":
      return { layout: "float", shape: [c] };
    case "depthwise_conv2d": {
      const [kh, kw] = layer.weights.shape as [number, number, number];
      const g = convGeometry(1, h, w, c, kh, kw, layer.strides[0], layer.strides[1], layer.padding);
      return { layout: "float", shape: [g.outH, g.outW, c] };
    }
    default:
      return { layout: input.layout, shape: [...input.shape] };
  }
}
