/**
 * The engine's model description: a list of typed layers in topological order that the
 * inference runtime executes (the batch axis is the runtime's business). A layer reads the
 * output of the layer before it, or, with `inputs` (format 2.0), the outputs of the named
 * earlier layers: residual BNNs are graphs (a shortcut `add`, a `concat`).
 * It is plain data: a JSON-able skeleton whose tensors are typed arrays, so the `.onebit`
 * writer (format.ts) stores the skeleton as the file header and the tensors as data
 * sections.
 *
 * Every layer states the activation it consumes (`in`) and produces (`out`), each with a
 * layout (packed bits or float32) and a per-sample shape: [h, w, c] for images, [n] for
 * vectors. model-check.ts verifies that a layer's `in` equals its (first) input's `out`
 * and that each `out` follows from its inputs and the layer's parameters.
 *
 * Bit tensors follow the bit contract of src/kernels/bits.ts: bit 1 = +1, the last axis is
 * packed, channel c at word c >> 5, bit c & 31, tail bits 0. A bit activation of shape
 * [h, w, c] occupies h * w * ceil(c / 32) words; a flat bit vector [n] occupies ceil(n / 32).
 */
import type { Pads, WindowPadding } from "../kernels/geometry.js";

/**
 * A conv or pool window's padding: TensorFlow's 'valid' or 'same', or (format 2.0)
 * explicit pads [top, left, bottom, right], as PyTorch and ONNX state them.
 */
export type Padding = WindowPadding;
export type { Pads };

/** Float32 tensor, row-major. */
export interface F32Tensor {
  dtype: "f32";
  shape: number[];
  data: Float32Array;
}

/** Int32 tensor, row-major. */
export interface I32Tensor {
  dtype: "i32";
  shape: number[];
  data: Int32Array;
}

/** Packed bit tensor: `shape` is the logical shape; the last axis is packed into uint32 words. */
export interface BitTensor {
  dtype: "bits";
  shape: number[];
  data: Uint32Array;
}

/** A tensor of an engine model: float32, int32 or packed bits. */
export type Tensor = F32Tensor | I32Tensor | BitTensor;
/** The element type of an engine tensor. */
export type DType = Tensor["dtype"];

/** How an activation is stored between layers. */
export type Layout = "bits" | "float";

/** A per-sample activation: [h, w, c] (NHWC without N) or [n]. */
export interface ActivationSpec {
  layout: Layout;
  shape: number[];
}

/** Binary padding value: -1 and +1 are free, 0 needs the in-bounds correction (docs/architecture.md). */
export type BinaryPadValue = -1 | 0 | 1;

/** A JSON value (what a model's metadata may hold). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

interface LayerBase {
  /** Unique, non-empty; error messages and summaries use it. */
  name: string;
  /**
   * Names of the earlier layers whose outputs this layer reads (format 2.0). Absent: the
   * layer before it. `add` and `concat` read two or more; every other kind reads one.
   */
  inputs?: string[];
  /** The (first) input's activation. */
  in: ActivationSpec;
  out: ActivationSpec;
}

/**
 * The model input: raw values (e.g. pixels 0..255) mapped to the training range per
 * channel: x = fround(raw * scale[c] + offset[c]), the product and sum in float64, rounded
 * once to float32 (the training data pipeline's expression). `scale` and
 * `offset` have length 1 (all channels) or c. `in` and `out` are float with equal shapes.
 */
export interface InputLayer extends LayerBase {
  kind: "input";
  scale: number[];
  offset: number[];
}

/** Float convolution, weights [O, kh, kw, I] (OHWI), optional bias [O]; float in, float out. */
export interface FloatConv2DLayer extends LayerBase {
  kind: "float_conv2d";
  weights: F32Tensor;
  bias?: F32Tensor;
  strides: [number, number];
  padding: Padding;
  /** What positions outside the image read (0 in float frameworks). */
  padValue: number;
}

/** Float dense, weights [O, I], optional bias [O]; float [I] in, float [O] out. */
export interface FloatDenseLayer extends LayerBase {
  kind: "float_dense";
  weights: F32Tensor;
  bias?: F32Tensor;
}

/**
 * Binary-weight (BWN) convolution on float input: exactly float_conv2d with the weights
 * w[o, ky, kx, i] = bit ? alpha[o] : -alpha[o]. Stored as bits [O, kh, kw, I] (OHWI, I
 * packed) and alpha f32 [O]: 1 bit per weight in the file; the runtime expands the
 * weights once at load and runs the float kernels (same results as the float layer).
 */
export interface BwnConv2DLayer extends LayerBase {
  kind: "bwn_conv2d";
  weights: BitTensor;
  alpha: F32Tensor;
  bias?: F32Tensor;
  strides: [number, number];
  padding: Padding;
  padValue: number;
}

/** Binary-weight dense on float input: float_dense with w[o, i] = bit ? alpha[o] : -alpha[o]. */
export interface BwnDenseLayer extends LayerBase {
  kind: "bwn_dense";
  weights: BitTensor;
  alpha: F32Tensor;
  bias?: F32Tensor;
}

/**
 * Float -> bits by sign: bit = 1 iff x >= 0 (sign(0) = +1). Same shape. With
 * `thresholds` (f32 [C], format 2.0) bit = 1 iff x >= thresholds[c]: ReActNet's RSign
 * sign(x + b) is x >= -b exactly (float addition keeps the sign of the exact sum).
 */
export interface BitpackLayer extends LayerBase {
  kind: "bitpack";
  thresholds?: F32Tensor;
}

/**
 * Bits -> float +/-1 (bit 1 = +1, bit 0 = -1), same shape: feeds a float layer whose
 * training graph multiplies sign(x) by real weights (e.g. a float last layer).
 */
export interface UnpackLayer extends LayerBase {
  kind: "unpack";
}

/**
 * What a binary layer does with its integer pre-activation x = dot in [-K, K]:
 * - threshold: bit j = (x >= thresholds[j]) XOR flip bit j  (layout bits);
 *   thresholds int32 [O], flip bits [O]. Threshold -2^31 means "always true".
 * - affine: y = fround(fround(x * scale[j]) + bias[j])  (layout float); scale, bias f32 [O].
 */
export type OutputTransform =
  | { kind: "threshold"; thresholds: I32Tensor; flip: BitTensor }
  | { kind: "affine"; scale: F32Tensor; bias: F32Tensor };

/** How the layer was trained; informational (the engine computes the same thing either way). */
export interface QuantizationInfo {
  inputQuantizer?: string;
  kernelQuantizer?: string;
  scaling?: string;
}

/**
 * Binary convolution on packed bits [h, w, C], weights bits [O, kh, kw, C] (OHWI, C packed),
 * K = kh * kw * C. Output [outH, outW, O] in the transform's layout.
 */
export interface BinaryConv2DLayer extends LayerBase {
  kind: "binary_conv2d";
  weights: BitTensor;
  strides: [number, number];
  padding: Padding;
  padValue: BinaryPadValue;
  output: OutputTransform;
  quantization?: QuantizationInfo;
}

/** Binary dense on packed bits [C], weights bits [O, C], K = C. Output [O]. */
export interface BinaryDenseLayer extends LayerBase {
  kind: "binary_dense";
  weights: BitTensor;
  output: OutputTransform;
  quantization?: QuantizationInfo;
}

/**
 * Max pooling over in-bounds positions, on bits (OR) or floats (max). On bits, `flip`
 * (bits [C], optional) marks channels whose bit is the negation of the pooled quantity's
 * threshold (a flipped threshold before the pool): for those the pool is AND (min), i.e.
 * y = OR(x XOR flip) XOR flip.
 */
export interface MaxPoolLayer extends LayerBase {
  kind: "maxpool";
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
  flip?: BitTensor;
}

/** Average pooling over in-bounds positions (padding not counted); float only. */
export interface AvgPoolLayer extends LayerBase {
  kind: "avgpool";
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding;
}

/**
 * Eval-mode batch norm over the last axis, in the training graph's float32 order:
 * y = fround(fround(gamma * fround(fround(x - mean) * invStd)) + beta). All f32 [C].
 */
export interface BatchNormLayer extends LayerBase {
  kind: "batchnorm";
  mean: F32Tensor;
  invStd: F32Tensor;
  gamma: F32Tensor;
  beta: F32Tensor;
}

/**
 * [h, w, c] -> [h * w * c], index (y * w + x) * c + ch. On bits the output is repacked
 * densely (word i >> 5, bit i & 31), so binary dense weights see one contiguous row.
 */
export interface FlattenLayer extends LayerBase {
  kind: "flatten";
}

/** max(x, 0), float in and out. */
export interface ReluLayer extends LayerBase {
  kind: "relu";
}

/** y = fround(x0 + x1) (+ x2 ...), left to right; float inputs of equal shape (format 2.0). */
export interface AddLayer extends LayerBase {
  kind: "add";
}

/** The float inputs' channels side by side, in input order; other axes equal (format 2.0). */
export interface ConcatLayer extends LayerBase {
  kind: "concat";
}

/** Float [h, w, c] -> [c]: the mean over the image, computed as avgpool with one h x w window (format 2.0). */
export interface GlobalAvgPoolLayer extends LayerBase {
  kind: "globalavgpool";
}

/** y = x for x >= 0, alpha[c] * x otherwise; alpha f32 [C] (format 2.0). */
export interface PReluLayer extends LayerBase {
  kind: "prelu";
  alpha: F32Tensor;
}

/** y = fround(x + bias[c]); bias f32 [C] (format 2.0). */
export interface ShiftLayer extends LayerBase {
  kind: "shift";
  bias: F32Tensor;
}

/**
 * Float depthwise convolution, weights f32 [kh, kw, C], padding reads 0; each output is
 * the float64 sum of its in-bounds taps, rounded once (format 2.0).
 */
export interface DepthwiseConv2DLayer extends LayerBase {
  kind: "depthwise_conv2d";
  weights: F32Tensor;
  bias?: F32Tensor;
  strides: [number, number];
  padding: Padding;
}

/** Softmax over the last axis (float). */
export interface SoftmaxLayer extends LayerBase {
  kind: "softmax";
}

/**
 * An engine layer: one of the kinds of docs/format.md, each with its input and output layout
 * and shape.
 */
export type Layer =
  | InputLayer
  | FloatConv2DLayer
  | FloatDenseLayer
  | BwnConv2DLayer
  | BwnDenseLayer
  | BitpackLayer
  | UnpackLayer
  | BinaryConv2DLayer
  | BinaryDenseLayer
  | MaxPoolLayer
  | AvgPoolLayer
  | BatchNormLayer
  | FlattenLayer
  | ReluLayer
  | SoftmaxLayer
  | AddLayer
  | ConcatLayer
  | GlobalAvgPoolLayer
  | PReluLayer
  | ShiftLayer
  | DepthwiseConv2DLayer;

/** The `kind` of an engine layer. */
export type LayerKind = Layer["kind"];

/** Every engine layer kind (docs/format.md, 2.3 Layers). */
export const LAYER_KINDS: readonly LayerKind[] = [
  "input",
  "float_conv2d",
  "float_dense",
  "bwn_conv2d",
  "bwn_dense",
  "bitpack",
  "unpack",
  "binary_conv2d",
  "binary_dense",
  "maxpool",
  "avgpool",
  "batchnorm",
  "flatten",
  "relu",
  "softmax",
  "add",
  "concat",
  "globalavgpool",
  "prelu",
  "shift",
  "depthwise_conv2d",
];

/** The kinds format 2.0 adds (a file using any of them, or `inputs`, is written as 2.0). */
export const GRAPH_KINDS: readonly LayerKind[] = [
  "add",
  "concat",
  "globalavgpool",
  "prelu",
  "shift",
  "depthwise_conv2d",
];

/**
 * True when the model needs format 2.0: a layer with `inputs`, a 2.0 kind, a bitpack
 * threshold, or explicit pads.
 */
export function needsFormat2(model: EngineModel): boolean {
  return model.layers.some(
    (l) =>
      l.inputs !== undefined ||
      GRAPH_KINDS.includes(l.kind) ||
      (l.kind === "bitpack" && l.thresholds !== undefined) ||
      ("padding" in l && Array.isArray(l.padding)),
  );
}

/**
 * A model the engine can run: layers[0] is the input layer; the last layer's output is
 * the class scores, one per class name.
 */
export interface EngineModel {
  name: string;
  classNames: string[];
  layers: Layer[];
  /** Free-form training metadata (dataset, epochs, accuracy, quantizer settings, ...). */
  metadata: { [key: string]: JsonValue };
}

/** Number of elements of a shape (1 for []). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Storage elements of a tensor: the product of the shape, except for bits, where the last
 * axis becomes ceil(last / 32) words: rows * ceil(c / 32).
 */
export function storageLength(dtype: DType, shape: readonly number[]): number {
  if (dtype !== "bits") return shapeSize(shape);
  if (shape.length === 0) return 0;
  const last = shape[shape.length - 1]!;
  return shapeSize(shape.slice(0, -1)) * Math.ceil(last / 32);
}

/** Bytes per storage element: 4 for every dtype (f32, i32, uint32 bit words). */
export const BYTES_PER_ELEMENT = 4;

/** Bytes of one sample's activation (bits: 4 per 32-bit word). */
export function activationBytes(spec: ActivationSpec): number {
  return BYTES_PER_ELEMENT * storageLength(spec.layout === "bits" ? "bits" : "f32", spec.shape);
}

/**
 * Activation memory of one image with buffers reused by liveness: an output lives from its
 * layer until the last layer that reads it (a shortcut keeps its source alive until the
 * add). `peakBytes` is the most that is live at once, counting a layer's inputs and its
 * output together; `largestBytes` the largest single activation; `totalBytes` what one
 * buffer per layer would take.
 */
export function activationMemory(model: EngineModel): {
  peakBytes: number;
  largestBytes: number;
  totalBytes: number;
} {
  const layers = model.layers;
  const index = new Map(layers.map((l, i) => [l.name, i]));
  const lastUse = layers.map((_, i) => i);
  layers.forEach((l, i) => {
    const reads = l.inputs ?? (i > 0 ? [layers[i - 1]!.name] : []);
    for (const name of reads) {
      const j = index.get(name);
      if (j !== undefined) lastUse[j] = Math.max(lastUse[j]!, i);
    }
  });
  lastUse[layers.length - 1] = layers.length; // the scores are read after the last layer
  let peakBytes = 0;
  let largestBytes = 0;
  let totalBytes = 0;
  for (let i = 0; i < layers.length; i++) {
    let live = 0;
    for (let j = 0; j <= i; j++) if (lastUse[j]! >= i) live += activationBytes(layers[j]!.out);
    const own = activationBytes(layers[i]!.out);
    peakBytes = Math.max(peakBytes, live);
    largestBytes = Math.max(largestBytes, own);
    totalBytes += own;
  }
  return { peakBytes, largestBytes, totalBytes };
}
