/**
 * The converter: a trained model (src/nn) -> an EngineModel the runtime executes with the
 * same results as the training graph in eval mode.
 *
 * Walks the training layers in order and emits engine layers:
 * - a quantized layer whose input quantizer is sign-like and whose kernel is 1-bit becomes
 *   binary_conv2d / binary_dense with packed sign(W) (a `bitpack` is inserted when its
 *   input is still float). Its per-channel weight scale (XNOR alpha), bias and the batch
 *   norm that follows fold into an integer threshold (src/export/fold.ts) when the next
 *   weight layer binarizes its input again; max-pools in between run on bits (with the
 *   fold's flips when the pool precedes the batch norm, as the pool then sees the integer
 *   x and a decreasing channel's max is the AND of its bits). Otherwise the output is the
 *   exact affine z = x * alpha + bias followed by the float ops of the training graph.
 * - a layer with real input becomes float_conv2d / float_dense with the quantized weights
 *   the training graph multiplies by (BWN weights stay +/-alpha floats). A layer with
 *   sign-like input and real (or k-bit) weights gets the same float layer after an
 *   `unpack` (bits -> +/-1 floats), e.g. the default float last layer.
 * - batch norm, max-pool, flatten and ReLU between float layers map one to one; dropout is
 *   the identity in eval mode.
 * Engine layers take the names of the spec's layers. Graph models (a layer reading more than
 * the one before it) go through convert-graph.ts instead.
 * What the engine cannot express exactly is rejected with a message naming the layer.
 */

import type {
  ActivationSpec,
  BinaryPadValue,
  EngineModel,
  JsonValue,
  Layer,
  OutputTransform,
  Padding,
} from "../engine/model.js";
import type { Layer as TrainLayer } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import { invStdOf } from "../ops/batchNorm.js";
import { getQuantizer, type Quantizer, type QuantizerSpec } from "../quant/quantizers.js";
import { convertGraph } from "./convert-graph.js";
import { outputSpec } from "./convert-shapes.js";
import { packWeightSigns } from "./convert-weights.js";
import { type ChannelParams, exactAffine, foldThresholds, thresholdTransform } from "./fold.js";

/**
 * What the converter writes into the engine model beside the layers: name, class names, the
 * input transform and metadata.
 */
export interface ConvertOptions {
  /** Model name stored in the file. Default: the builder name. */
  name?: string;
  classNames: string[];
  /** Raw input -> network input, x = raw * scale + offset (the data set's preprocessing). */
  preprocessing: { scale: number; offset: number };
  metadata?: { [key: string]: JsonValue };
}

/** A training layer with its tensors copied out of the heap. */
export interface Source {
  index: number;
  /** The layer's name in the model spec (the engine layer's name). */
  name: string;
  type: string;
  config: Record<string, unknown>;
  tensors: Map<string, Float32Array>;
  label: string;
}

export class ConvertError extends Error {}

export function fail(src: Source, message: string): never {
  throw new ConvertError(`convert: ${src.label}: ${message}`);
}

export function sourcesOf(model: Model): Source[] {
  return model.layers.map((layer: TrainLayer, index) => {
    const tensors = new Map<string, Float32Array>();
    for (const p of layer.params()) tensors.set(p.name, p.tensor.toArray());
    for (const b of layer.buffers()) tensors.set(b.name, b.tensor.toArray());
    return {
      index,
      name: model.names[index]!,
      type: layer.type,
      config: layer.config,
      tensors,
      label: `'${model.names[index]}' (${layer.type})`,
    };
  });
}

const SIGN_PROBES = [-3, -1, -0.5, -1e-30, -0, 0, 1e-30, 0.5, 1, 3];

/** True when the quantizer's eval-mode forward is sign(x) (sign(0) = +1). */
export function isSignLike(q: Quantizer): boolean {
  if (q.bits !== 1) return false;
  const x = Float32Array.from(SIGN_PROBES);
  const y = new Float32Array(x.length);
  q.forward(x, y, { channels: 1, training: false });
  return x.every((v, i) => y[i] === (v >= 0 ? 1 : -1));
}

export function quantizerOf(spec: unknown): Quantizer | null {
  return spec ? getQuantizer(spec as string | QuantizerSpec) : null;
}

export function batchNormParams(src: Source): NonNullable<ChannelParams["batchNorm"]> {
  const t = src.tensors;
  return {
    runningMean: t.get("runningMean")!,
    runningVar: t.get("runningVar")!,
    eps: src.config.eps as number,
    gamma: t.get("gamma"),
    beta: t.get("beta"),
  };
}

function f32(shape: number[], data: Float32Array) {
  return { dtype: "f32" as const, shape, data };
}

/** An engine layer without its activation specs (the emitter fills them in). */
type Draft = { kind: Layer["kind"]; name: string; [key: string]: unknown };

class Emitter {
  readonly layers: Layer[] = [];
  act: ActivationSpec;

  constructor(input: ActivationSpec) {
    this.act = input;
  }

  /** Appends a layer that consumes the current activation; its `out` follows from the parameters. */
  push(layer: Draft): void {
    const full = { ...layer, in: this.act } as unknown as Layer;
    full.out = outputSpec(full);
    this.layers.push(full);
    this.act = full.out;
  }

  batchNorm(name: string, src: Source): void {
    const bn = batchNormParams(src);
    const c = bn.runningMean.length;
    if (this.act.shape[this.act.shape.length - 1] !== c) {
      fail(src, `batch norm over ${c} channels, its input is [${this.act.shape}]`);
    }
    this.push({
      kind: "batchnorm",
      name,
      mean: f32([c], Float32Array.from(bn.runningMean)),
      invStd: f32(
        [c],
        Float32Array.from(bn.runningVar, (v) => invStdOf(v, bn.eps)),
      ),
      gamma: f32([c], bn.gamma ? Float32Array.from(bn.gamma) : new Float32Array(c).fill(1)),
      beta: f32([c], bn.beta ? Float32Array.from(bn.beta) : new Float32Array(c)),
    });
  }
}

const WEIGHT_TYPES = new Set(["quant_conv2d", "quant_dense"]);

/**
 * Converts a trained model (eval-mode semantics) into an EngineModel.
 *
 *     const engineModel = convertModel(model, { classNames: MNIST_CLASSES, preprocessing: BYTE_TO_SIGNED });
 */
export function convertModel(model: Model, options: ConvertOptions): EngineModel {
  if (!model.isChain) return convertGraph(model, options);
  const sources = sourcesOf(model);
  const shape = [...model.inputShape];
  const e = new Emitter({ layout: "float", shape });
  const { scale, offset } = options.preprocessing;
  e.push({ kind: "input", name: "input", scale: [scale], offset: [offset] });
  let i = 0;
  while (i < sources.length) {
    const src = sources[i]!;
    if (WEIGHT_TYPES.has(src.type)) {
      i = weightLayer(e, sources, i);
      continue;
    }
    floatOp(e, src);
    i++;
  }
  if (e.act.layout !== "float") {
    fail(
      sources[sources.length - 1]!,
      "the model ends in binary activations; the engine needs float class scores",
    );
  }
  return engineModelOf(model, options, e.layers);
}

/** The engine model of converted layers: name, class names, and the builder config as metadata. */
export function engineModelOf(model: Model, options: ConvertOptions, layers: Layer[]): EngineModel {
  return {
    name: options.name ?? model.name,
    classNames: [...options.classNames],
    layers,
    metadata: {
      ...(model.origin ? { builder: model.origin.builder, options: model.origin.options as JsonValue } : {}),
      ...(options.metadata ?? {}),
    },
  };
}

/** One training op between weight layers, on float activations. */
function floatOp(e: Emitter, src: Source): void {
  const name = src.name;
  switch (src.type) {
    case "dropout":
      return;
    case "flatten":
      e.push({ kind: "flatten", name });
      return;
    case "batch_norm":
      if (e.act.layout !== "float") fail(src, "batch norm on binary activations");
      e.batchNorm(name, src);
      return;
    case "max_pool": {
      const { size, stride, padding } = src.config as { size: number; stride: number; padding: Padding };
      e.push({ kind: "maxpool", name, poolSize: [size, size], strides: [stride, stride], padding });
      return;
    }
    case "activation":
      if (src.config.fn !== "relu")
        fail(src, `activation '${String(src.config.fn)}' has no engine layer (relu only)`);
      if (e.act.layout !== "float") fail(src, "relu on binary activations");
      e.push({ kind: "relu", name });
      return;
    default:
      fail(src, `layer type '${src.type}' has no engine equivalent`);
  }
}

/**
 * What every converter reads of a dense or conv layer: its quantizers (refusing what the
 * engine cannot run exactly: XNOR-Net's K, a non-sign input quantizer), the kernel as the
 * training graph multiplies by it (quantized), and the bias.
 */
export function weightLayerParts(src: Source) {
  const cfg = src.config;
  if (cfg.scaling === "xnor") {
    fail(
      src,
      "scaling 'xnor' multiplies each output position by K = box-filtered mean |input|, a float of the " +
        "real-valued input that packed activations no longer carry; the engine supports 'none' and " +
        "'xnor-weights': for deployment train with --scaling xnor-weights",
    );
  }
  const inQ = quantizerOf(cfg.inputQuantizer);
  const kQ = quantizerOf(cfg.kernelQuantizer);
  if (inQ && !isSignLike(inQ))
    fail(src, `input quantizer '${inQ.name}' (${inQ.bits} bits) is not sign(x) in eval mode`);
  const kernel = src.tensors.get("kernel")!;
  const kernelShape = kernelShapeOf(src);
  const outC = kernelShape[0]!;
  const quantized = new Float32Array(kernel.length);
  if (kQ) kQ.forward(kernel, quantized, { channels: outC, training: false });
  else quantized.set(kernel);
  return { inQ, kQ, kernelShape, outC, quantized, bias: src.tensors.get("bias") };
}

/** Emits the weight layer at `i` (and, for a threshold fold, the ops it absorbs); returns the next index. */
function weightLayer(e: Emitter, sources: Source[], i: number): number {
  const src = sources[i]!;
  const cfg = src.config;
  const { inQ, kQ, kernelShape, outC, quantized, bias } = weightLayerParts(src);
  const name = src.name;

  if (!inQ || kQ?.bits !== 1) {
    if (inQ) {
      // sign(x) times real (or k-bit) weights: the float layer reads the +/-1 values the
      // training graph's sgemm reads (a float input is binarized first, exactly as sign).
      if (e.act.layout === "float") e.push({ kind: "bitpack", name: `${name}.bitpack` });
      e.push({ kind: "unpack", name: `${name}.unpack` });
    } else if (e.act.layout !== "float") {
      fail(src, "real-valued input expected, but the previous layer produces bits");
    }
    const signed = kQ?.bits === 1 ? bwnWeights(quantized, kernelShape) : null;
    const weights = signed ?? { weights: f32(kernelShape, quantized) };
    const conv = src.type === "quant_conv2d";
    const kind = signed ? (conv ? "bwn_conv2d" : "bwn_dense") : conv ? "float_conv2d" : "float_dense";
    const geometry = conv
      ? { strides: [cfg.stride, cfg.stride], padding: cfg.padding, padValue: cfg.padValue }
      : {};
    e.push({ kind, name, ...weights, ...geometry, ...(bias ? { bias: f32([outC], bias) } : {}) });
    return i + 1;
  }
  if (e.act.layout === "float") e.push({ kind: "bitpack", name: `${name}.bitpack` });
  const { bits, alpha } = packWeightSigns(quantized, kernelShape, src.label);
  const k = kernelShape.slice(1).reduce((a, b) => a * b, 1);
  const params: ChannelParams = { alpha, bias };

  // The ops up to the next weight layer, and whether that layer binarizes its input.
  let j = i + 1;
  while (j < sources.length && !WEIGHT_TYPES.has(sources[j]!.type)) j++;
  const tail = sources.slice(i + 1, j);
  const next = sources[j];
  const nextQ = next ? quantizerOf(next.config.inputQuantizer) : null;
  const bns = tail.filter((s) => s.type === "batch_norm");
  const foldable =
    nextQ !== null &&
    isSignLike(nextQ) &&
    bns.length <= 1 &&
    tail.every((s) => ["max_pool", "batch_norm", "flatten", "dropout"].includes(s.type)) &&
    bns.every((s) => (s.tensors.get("runningMean")?.length ?? -1) === outC);

  const base = { name, weights: bits, quantization: quantizationInfo(cfg) };
  const geometry =
    src.type === "quant_conv2d"
      ? {
          kind: "binary_conv2d" as const,
          strides: [cfg.stride, cfg.stride],
          padding: cfg.padding,
          padValue: cfg.padValue as BinaryPadValue,
        }
      : { kind: "binary_dense" as const };
  if (!foldable) {
    const affine = exactAffine(outC, params);
    const output: OutputTransform = {
      kind: "affine",
      scale: f32([outC], affine.scale),
      bias: f32([outC], affine.bias),
    };
    e.push({ ...base, ...geometry, output });
    return i + 1;
  }
  if (bns[0]) params.batchNorm = batchNormParams(bns[0]);
  const fold = foldThresholds(k, outC, params);
  e.push({ ...base, ...geometry, output: thresholdTransform(fold) });
  const flip = thresholdTransform(fold);
  const anyFlip = fold.flip.some((v) => v !== 0);
  let afterBn = bns.length === 0;
  for (const s of tail) {
    if (s.type === "batch_norm") afterBn = true;
    else if (s.type === "max_pool") {
      const { size, stride, padding } = s.config as { size: number; stride: number; padding: Padding };
      const pool = {
        kind: "maxpool" as const,
        name: s.name,
        poolSize: [size, size],
        strides: [stride, stride],
        padding,
      };
      // Before the batch norm the pool sees x (as z = x*alpha + bias, alpha >= 0): decreasing
      // channels pool by AND. After it the bits are sign(y) and the pool is a plain OR.
      const withFlip = !afterBn && anyFlip && flip.kind === "threshold" ? { flip: flip.flip } : {};
      e.push({ ...pool, ...withFlip });
    } else if (s.type === "flatten") {
      e.push({ kind: "flatten", name: s.name });
    }
  }
  return j;
}

/**
 * A binary-weight kernel q = alpha[o] * sign as bits + alpha (1 bit per weight), when that
 * reproduces every float of q exactly (alpha > 0) and is smaller; else null (the layer
 * stays float32).
 */
export function bwnWeights(q: Float32Array, shape: number[]) {
  const c = shape[shape.length - 1]!;
  // Rows of few channels (e.g. a 1-channel image) pack no smaller than float32.
  if ((q.length / c) * Math.ceil(c / 32) + shape[0]! >= q.length) return null;
  let packed: ReturnType<typeof packWeightSigns>;
  try {
    packed = packWeightSigns(q, shape, "");
  } catch {
    return null;
  }
  const outC = shape[0]!;
  const alpha = packed.alpha ?? new Float32Array(outC).fill(1);
  const perChannel = q.length / outC;
  for (let i = 0; i < q.length; i++) {
    const a = alpha[Math.floor(i / perChannel)]!;
    if (!(a > 0) || !Object.is(q[i], q[i]! >= 0 ? a : -a)) return null;
  }
  return { weights: packed.bits, alpha: f32([outC], alpha) };
}

export function kernelShapeOf(src: Source): number[] {
  const c = src.config;
  if (src.type === "quant_dense") return [c.units as number, c.inFeatures as number];
  const k = c.kernelSize as number;
  return [c.filters as number, k, k, c.inChannels as number];
}

export function quantizationInfo(cfg: Record<string, unknown>) {
  const nameOf = (q: unknown) => (q ? (typeof q === "string" ? q : (q as QuantizerSpec).name) : undefined);
  return {
    inputQuantizer: nameOf(cfg.inputQuantizer),
    kernelQuantizer: nameOf(cfg.kernelQuantizer),
    scaling: cfg.scaling as string,
  };
}
