/**
 * The engine's model description: a sequential list of typed layers that the inference
 * runtime executes on one sample at a time (the batch axis is the runtime's business).
 * It is plain data: a JSON-able skeleton whose tensors are typed arrays, so the `.onebit`
 * writer (format.ts) stores the skeleton as the file header and the tensors as data
 * sections.
 *
 * Every layer states the activation it consumes (`in`) and produces (`out`), each with a
 * layout (packed bits or float32) and a per-sample shape: [h, w, c] for images, [n] for
 * vectors. check.ts verifies that layer i's `in` equals layer i-1's `out` and that each
 * `out` follows from `in` and the layer's parameters.
 *
 * Bit tensors follow the bit contract of src/kernels/bits.ts: bit 1 = +1, the last axis is
 * packed, channel c at word c >> 5, bit c & 31, tail bits 0. A bit activation of shape
 * [h, w, c] occupies h * w * ceil(c / 32) words; a flat bit vector [n] occupies ceil(n / 32).
 */
import type { Padding } from "../kernels/geometry.js";

export type { Padding };

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

export type Tensor = F32Tensor | I32Tensor | BitTensor;
export type DType = Tensor["dtype"];

/** How an activation is stored between layers. */
export type Layout = "bits" | "float";

/** A per-sample activation: [h, w, c] (NHWC without N) or [n]. */
export interface ActivationSpec {
  layout: Layout;
  shape: number[];
}

/** Binary padding value: -1 and +1 are free, 0 needs the in-bounds correction (DESIGN.md). */
export type BinaryPadValue = -1 | 0 | 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

interface LayerBase {
  /** Unique, non-empty; error messages and summaries use it. */
  name: string;
  in: ActivationSpec;
  out: ActivationSpec;
}

/**
 * The model input: raw values (e.g. pixels 0..255) mapped to the training range per
 * channel, in float32: x = fround(fround(raw * scale[c]) + offset[c]). `scale` and
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

/** Float -> bits by sign: bit = 1 iff x >= 0 (sign(0) = +1). Same shape. */
export interface BitpackLayer extends LayerBase {
  kind: "bitpack";
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

export interface ReluLayer extends LayerBase {
  kind: "relu";
}

/** Softmax over the last axis (float). */
export interface SoftmaxLayer extends LayerBase {
  kind: "softmax";
}

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
  | SoftmaxLayer;

export type LayerKind = Layer["kind"];

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
];

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
