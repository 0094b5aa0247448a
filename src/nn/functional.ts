/**
 * Models as code: a functional API in the spirit of Keras' and TensorFlow.js', building a
 * model spec (src/nn/spec.ts), which `train()` takes, checkpoints store and `buildModel`
 * turns into a live model.
 *
 *     const x = input({ shape: [28, 28, 1] });
 *     const stem = layers.batchNorm().apply(layers.conv2d({ filters: 32 }).apply(x));
 *     const conv = layers.quantConv2d({ filters: 32, padding: "same", name: "block1_conv" });
 *     const block = layers.add().apply([layers.batchNorm().apply(conv.apply(stem)), stem]);
 *     const head = layers.dense({ units: 10 }).apply(layers.globalAvgPool().apply(block));
 *     const spec = model({ inputs: x, outputs: head, name: "tiny-resnet" });
 *
 * Shapes are checked as each layer is applied: a mismatch names the layer and both shapes
 * then, not at training time. Layers without a `name` are named `TYPE_K` (quant_conv2d_1,
 * quant_conv2d_2, ...) in the order the model runs them. `sequential` chains layers.
 */
import type { Padding } from "../kernels/geometry.js";
import type { QuantizerSpec } from "../quant/quantizers.js";
import type { Scaling } from "./quantLayers.js";
import { layerKind } from "./registry.js";
import { type LayerSpec, type ModelSpec, resolveSpec, SPEC_FORMAT, SPEC_VERSION } from "./spec.js";

/** A tensor of a model being defined: who makes it and its shape (without batch). */
export class SymbolicTensor {
  /** @internal */
  constructor(
    readonly shape: readonly number[],
    /** @internal */
    readonly source: InputNode | AppliedLayer,
  ) {}
}

interface InputNode {
  kind: "input";
  name: string;
}

interface AppliedLayer {
  kind: "layer";
  layer: LayerDefinition;
  inputs: SymbolicTensor[];
  config: Record<string, unknown>;
}

/** A layer not yet part of a model: its type, config and optional name. Apply it once. */
export class LayerDefinition {
  private applied = false;

  constructor(
    readonly type: string,
    readonly config: Record<string, unknown>,
    readonly name?: string,
  ) {
    layerKind(type, name ? `layer '${name}'` : "layer");
  }

  /** Applies the layer to one tensor, or to several (add, concatenate). Checks shapes now. */
  apply(x: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor {
    const where = this.name ? `layer '${this.name}' (${this.type})` : `a ${this.type} layer`;
    if (this.applied) {
      throw new Error(
        `${where} is already applied; a layer is applied once (create another for new weights)`,
      );
    }
    const inputs = Array.isArray(x) ? [...x] : [x as SymbolicTensor];
    for (const t of inputs) {
      if (!(t instanceof SymbolicTensor))
        throw new TypeError(`${where}: apply takes tensors from input() or apply()`);
    }
    const kind = layerKind(this.type, where);
    if (kind.arity === 1 && inputs.length !== 1)
      throw new Error(`${where}: takes one input, got ${inputs.length}`);
    if (kind.arity === "many" && inputs.length < 2)
      throw new Error(`${where}: takes two or more inputs, got ${inputs.length}`);
    const r = kind.resolve(
      this.config,
      inputs.map((t) => t.shape),
      where,
    );
    this.applied = true;
    return new SymbolicTensor(r.shape, { kind: "layer", layer: this, inputs, config: r.config });
  }
}

/** The model input: an image batch of `shape` [H, W, C] (or [features]). */
export function input(o: { shape: readonly number[]; name?: string }): SymbolicTensor {
  return new SymbolicTensor([...o.shape], { kind: "input", name: o.name ?? "input" });
}

/** The spec of the model from `inputs` to `outputs` (the class scores). */
export function model(o: { inputs: SymbolicTensor; outputs: SymbolicTensor; name?: string }): ModelSpec {
  const order: { t: SymbolicTensor; node: AppliedLayer }[] = [];
  const seen = new Set<SymbolicTensor>();
  const visit = (t: SymbolicTensor): void => {
    if (seen.has(t)) return;
    seen.add(t);
    if (t.source.kind === "input") {
      if (t !== o.inputs)
        throw new Error(
          `model: the outputs depend on input '${t.source.name}', which is not the model's input`,
        );
      return;
    }
    for (const i of t.source.inputs) visit(i);
    order.push({ t, node: t.source });
  };
  visit(o.outputs);
  if (o.outputs.source.kind === "input")
    throw new Error("model: the output is the input itself; apply a layer");
  if (o.inputs.source.kind !== "input") throw new Error("model: inputs must come from input()");
  const inputName = o.inputs.source.name;
  const taken = new Set<string>([inputName]);
  for (const { node } of order) {
    const n = node.layer.name;
    if (n === undefined) continue;
    if (taken.has(n)) throw new Error(`model: the name '${n}' is used twice`);
    taken.add(n);
  }
  const names = new Map<SymbolicTensor, string>([[o.inputs, inputName]]);
  const counters = new Map<string, number>();
  const layerSpecs: LayerSpec[] = order.map(({ t, node }) => {
    let name = node.layer.name;
    while (name === undefined || (node.layer.name === undefined && taken.has(name))) {
      const k = (counters.get(node.layer.type) ?? 0) + 1;
      counters.set(node.layer.type, k);
      name = `${node.layer.type}_${k}`;
    }
    taken.add(name);
    names.set(t, name);
    return {
      name,
      type: node.layer.type,
      inputs: node.inputs.map((i) => names.get(i)!),
      config: node.config,
    };
  });
  const spec = {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name: o.name ?? "model",
    inputs: [{ name: inputName, shape: [...o.inputs.shape] }],
    layers: layerSpecs,
    outputs: [names.get(o.outputs)!],
  };
  return resolveSpec(spec, `model '${spec.name}'`).spec;
}

/** The spec of a chain of layers over an input of `inputShape`. */
export function sequential(o: {
  inputShape: readonly number[];
  layers: readonly LayerDefinition[];
  name?: string;
}): ModelSpec {
  if (o.layers.length === 0) throw new Error("sequential: give at least one layer");
  const x = input({ shape: o.inputShape });
  let h = x;
  for (const l of o.layers) h = l.apply(h);
  return model({ inputs: x, outputs: h, name: o.name });
}

/** What every layer factory takes besides its own options. */
export interface Named {
  /** A unique name in the model; default TYPE_K. */
  name?: string;
}

/** Quantizer hooks of a quantized layer: the float layer plus these (as Larq's). */
export interface QuantHooks {
  /** Binarizes (or k-bit quantizes) the input: "ste_sign", "approx_sign", { name: "ste_sign", options: { clip: 1.25 } }, ... */
  inputQuantizer?: string | QuantizerSpec | null;
  /** Quantizes the latent weights: "ste_sign", "magnitude_aware_sign", ... */
  kernelQuantizer?: string | QuantizerSpec | null;
  scaling?: Scaling;
  useBias?: boolean;
  /** Latent weights clipped to [-clip, clip] after each step; default 1 for quantized kernels. */
  kernelClip?: number;
}

export interface DenseOptions extends Named, QuantHooks {
  units: number;
}

export interface Conv2dOptions extends Named, QuantHooks {
  filters: number;
  /** Default 3. */
  kernelSize?: number;
  /** Default 1. */
  stride?: number;
  /** Default 'valid'. */
  padding?: Padding;
  /** What a binary conv's padding reads: -1, 0 (with its correction) or +1. Default 0. */
  padValue?: -1 | 0 | 1;
}

/** Options of `layers.maxPool` and `layers.avgPool`: window size, stride and padding. */
export interface PoolOptions extends Named {
  /** Default 2. */
  size?: number;
  /** Default: the size. */
  stride?: number;
  /** Default 'valid'. */
  padding?: Padding;
}

/** Options of `layers.batchNorm`. */
export interface BatchNormOptions extends Named {
  center?: boolean;
  scale?: boolean;
  /** Keras convention: the weight of the old running value. Default 0.99. */
  momentum?: number;
  eps?: number;
}

/** Options of `layers.depthwiseConv2d`. */
export interface DepthwiseConv2dOptions extends Named {
  kernelSize?: number;
  stride?: number;
  /** Default 'same'. */
  padding?: Padding;
  useBias?: boolean;
  /** "trainable" (default) or "blur" (a fixed 3x3 blur, QuickNet's transitions). */
  kernel?: "trainable" | "blur";
}

function def(type: string, o: object = {}): LayerDefinition {
  const { name, ...config } = o as Named & Record<string, unknown>;
  return new LayerDefinition(type, config, name);
}

const conv = (o: Conv2dOptions) => def("quant_conv2d", { kernelSize: 3, ...o });

/**
 * The layer factories. Quantized layers are the float layers plus hooks: `quantConv2d`
 * with no quantizers is `conv2d`, with `kernelQuantizer` only a binary-weight (BWN) conv.
 */
export const layers = {
  /** A dense layer over [features]; binary with `inputQuantizer` and `kernelQuantizer`. */
  quantDense: (o: DenseOptions) => def("quant_dense", o),
  /** A float dense layer. */
  dense: (o: Omit<DenseOptions, keyof QuantHooks> & { useBias?: boolean }) => def("quant_dense", o),
  /** A convolution over [H, W, C] (OHWI weights); binary with both quantizers. */
  quantConv2d: conv,
  /** A float convolution. */
  conv2d: (o: Omit<Conv2dOptions, keyof QuantHooks | "padValue"> & { useBias?: boolean }) => conv(o),
  /** A depthwise convolution (trainable, or QuickNet's fixed blur). */
  depthwiseConv2d: (o: DepthwiseConv2dOptions = {}) => def("depthwise_conv2d", o),
  /** Batch normalization over the channels, with running statistics. */
  batchNorm: (o: BatchNormOptions = {}) => def("batch_norm", o),
  /** Max pooling over each window. */
  maxPool: (o: PoolOptions = {}) => def("max_pool", o),
  /** Average pooling over each window (padding never counts). */
  avgPool: (o: PoolOptions = {}) => def("avg_pool", o),
  /** [H, W, C] -> [C]: the mean over the image. */
  globalAvgPool: (o: Named = {}) => def("global_avg_pool", o),
  /** [H, W, C] -> [H * W * C]. */
  flatten: (o: Named = {}) => def("flatten", o),
  /** Drops each value with probability `rate` in training (scaled to keep the mean). */
  dropout: (o: Named & { rate: number }) => def("dropout", o),
  /** max(x, 0). */
  relu: (o: Named = {}) => def("activation", { ...o, fn: "relu" }),
  /** Clamps to [-1, 1]. */
  hardtanh: (o: Named = {}) => def("activation", { ...o, fn: "hardtanh" }),
  /** Per-channel PReLU, alpha [C] learned (init 0.25). */
  prelu: (o: Named & { init?: number } = {}) => def("prelu", o),
  /** A learned per-channel bias y = x + b (ReActNet's RSign shift and RPReLU shifts). */
  shift: (o: Named = {}) => def("shift", o),
  /** y = x0 + x1 + ... (equal shapes): the real-valued shortcut. */
  add: (o: Named = {}) => def("add", o),
  /** The inputs' channels side by side. */
  concatenate: (o: Named = {}) => def("concatenate", o),
};
