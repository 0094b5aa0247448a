/**
 * The converter for graph models (residual BNNs): a trained model whose layers read more
 * than the layer before them -> an EngineModel in format 2.0, where each engine layer names
 * its `inputs`. It walks the spec in topological order, maps every training tensor to the
 * engine layer that holds it, and emits:
 * - a binary layer (sign-like input quantizer, 1-bit kernel) as binary_conv2d / binary_dense
 *   with the exact affine output z = fround(fround(dot * alpha) + bias), reading the packed
 *   bits of its input (one `bitpack` per float tensor, shared by every binary reader);
 *   the batch norm after it stays a float layer, since the real-valued sum of a residual
 *   block is needed as a float (for the shortcut) anyway;
 * - a `shift` read only by binary layers (ReActNet's RSign) as a bitpack with thresholds
 *   -bias, so sign(x + bias) never goes through a float buffer;
 * - every other layer one to one (float and BWN convs and dense, batch norm, pools, ReLU,
 *   add, concat, global average pool, PReLU, shift, depthwise conv, flatten); dropout is
 *   the identity.
 * Each engine op computes the same float32 values as the training graph's eval-mode op.
 * An `inputs` list that names just the layer before is left out, so a chain written this
 * way is still a format 1.x chain.
 */
import type { ActivationSpec, EngineModel, Layer, Padding } from "../engine/model.js";
import type { Model } from "../nn/model.js";
import {
  batchNormParams,
  bwnWeights,
  type ConvertOptions,
  engineModelOf,
  fail,
  isSignLike,
  quantizationInfo,
  quantizerOf,
  type Source,
  sourcesOf,
  weightLayerParts,
} from "./convert.js";
import { outputSpec } from "./convert-shapes.js";
import { packWeightSigns } from "./convert-weights.js";
import { batchNormTensors, exactAffine } from "./fold.js";

type Draft = { kind: Layer["kind"]; name: string; [key: string]: unknown };

const f32 = (shape: number[], data: Float32Array) => ({ dtype: "f32" as const, shape, data });

/** Appends engine layers, tracking each one's output and the packed copy of float tensors. */
class GraphEmitter {
  readonly layers: Layer[] = [];
  private readonly outputs = new Map<string, ActivationSpec>();
  private readonly packed = new Map<string, string>();

  out(name: string): ActivationSpec {
    return this.outputs.get(name)!;
  }

  push(draft: Draft, inputs: string[], out?: ActivationSpec): string {
    const ins = inputs.map((n) => this.outputs.get(n)!);
    const previous = this.layers[this.layers.length - 1]?.name;
    const chained = inputs.length === 1 && inputs[0] === previous;
    const layer = {
      ...draft,
      ...(inputs.length && !chained ? { inputs } : {}),
      in: ins[0] ?? draft.in,
    } as Layer;
    layer.out = out ?? outputSpec(layer);
    this.layers.push(layer);
    this.outputs.set(layer.name, layer.out);
    return layer.name;
  }

  /** The packed bits of an engine tensor: itself if it is bits, else its (shared) bitpack. */
  bits(name: string): string {
    if (this.out(name).layout === "bits") return name;
    let packed = this.packed.get(name);
    if (!packed) {
      packed = this.push({ kind: "bitpack", name: `${name}.bitpack` }, [name]);
      this.packed.set(name, packed);
    }
    return packed;
  }
}

export function convertGraph(model: Model, options: ConvertOptions): EngineModel {
  const sources = sourcesOf(model);
  const e = new GraphEmitter();
  const input = model.spec.inputs[0]!;
  const { scale, offset } = options.preprocessing;
  const spec = { layout: "float" as const, shape: [...input.shape] };
  e.push({ kind: "input", name: input.name, scale: [scale], offset: [offset], in: spec }, [], spec);
  // Training tensor name -> the engine layer holding its value.
  const holder = new Map<string, string>([[input.name, input.name]]);
  const readers = new Map<string, Source[]>();
  model.spec.layers.forEach((l, i) => {
    for (const n of l.inputs) readers.set(n, [...(readers.get(n) ?? []), sources[i]!]);
  });
  model.spec.layers.forEach((l, i) => {
    const src = sources[i]!;
    const ins = l.inputs.map((n) => holder.get(n)!);
    // RSign: a shift that only binary layers read becomes their bitpack's thresholds.
    const rsign = src.type === "shift" && (readers.get(l.name) ?? []).every(readsSignBits);
    holder.set(l.name, rsign ? thresholdPack(e, src, ins[0]!) : emit(e, src, ins));
  });
  const last = holder.get(model.spec.outputs[0]!)!;
  if (e.layers[e.layers.length - 1]!.name !== last) {
    fail(sources[sources.length - 1]!, `the model's output '${last}' is not its last layer`);
  }
  if (e.out(last).layout !== "float") {
    fail(
      sources[sources.length - 1]!,
      "the model ends in binary activations; the engine needs float class scores",
    );
  }
  return engineModelOf(model, options, e.layers);
}

/** Emits the engine layers of one training layer; returns the engine layer holding its output. */
function emit(e: GraphEmitter, src: Source, ins: string[]): string {
  const name = src.name;
  const cfg = src.config;
  const float = (what: string) => {
    for (const i of ins) if (e.out(i).layout !== "float") fail(src, `${what} on binary activations`);
  };
  switch (src.type) {
    case "quant_conv2d":
    case "quant_dense":
      return weightLayer(e, src, ins[0]!);
    case "dropout":
      return ins[0]!;
    case "batch_norm": {
      float("batch norm");
      const bn = batchNormParams(src);
      return e.push({ kind: "batchnorm", name, ...batchNormTensors(bn.runningMean.length, bn) }, ins);
    }
    case "activation":
      if (cfg.fn !== "relu") fail(src, `activation '${String(cfg.fn)}' has no engine layer (relu only)`);
      float("relu");
      return e.push({ kind: "relu", name }, ins);
    case "max_pool":
    case "avg_pool": {
      const { size, stride, padding } = cfg as { size: number; stride: number; padding: Padding };
      if (src.type === "avg_pool") float("average pooling");
      const kind = src.type === "max_pool" ? "maxpool" : "avgpool";
      return e.push({ kind, name, poolSize: [size, size], strides: [stride, stride], padding }, ins);
    }
    case "global_avg_pool":
      float("global average pooling");
      return e.push({ kind: "globalavgpool", name }, ins);
    case "flatten":
      return e.push({ kind: "flatten", name }, ins);
    case "add":
      float("add");
      return e.push({ kind: "add", name }, ins);
    case "concatenate": {
      float("concatenate");
      const shapes = ins.map((i) => e.out(i).shape);
      const c = shapes.reduce((a, s) => a + s[s.length - 1]!, 0);
      const out = { layout: "float" as const, shape: [...shapes[0]!.slice(0, -1), c] };
      return e.push({ kind: "concat", name }, ins, out);
    }
    case "prelu":
      float("prelu");
      return e.push(
        { kind: "prelu", name, alpha: f32([cfg.channels as number], src.tensors.get("alpha")!) },
        ins,
      );
    case "shift":
      float("shift");
      return e.push(
        { kind: "shift", name, bias: f32([cfg.channels as number], src.tensors.get("bias")!) },
        ins,
      );
    case "depthwise_conv2d": {
      float("depthwise convolution");
      const k = cfg.kernelSize as number;
      const stride = cfg.stride as number;
      const bias = src.tensors.get("bias");
      return e.push(
        {
          kind: "depthwise_conv2d",
          name,
          weights: f32([k, k, cfg.channels as number], src.tensors.get("kernel")!),
          ...(bias ? { bias: f32([bias.length], bias) } : {}),
          strides: [stride, stride],
          padding: cfg.padding,
        },
        ins,
      );
    }
    default:
      return fail(src, `layer type '${src.type}' has no engine equivalent`);
  }
}

/** True for a dense or conv layer that binarizes its input by sign and has 1-bit weights (the binary path). */
function readsSignBits(src: Source): boolean {
  if (src.type !== "quant_conv2d" && src.type !== "quant_dense") return false;
  const inQ = quantizerOf(src.config.inputQuantizer);
  return inQ !== null && isSignLike(inQ) && quantizerOf(src.config.kernelQuantizer)?.bits === 1;
}

/**
 * sign(shift(x)) as one bitpack: bit = fround(x - t) >= 0 with t = -b computes the same
 * float32 sum fround(x + b) as the training graph, so the bits are identical.
 */
function thresholdPack(e: GraphEmitter, src: Source, input: string): string {
  if (e.out(input).layout !== "float") fail(src, "shift on binary activations");
  const bias = src.tensors.get("bias")!;
  const thresholds = f32(
    [bias.length],
    Float32Array.from(bias, (b) => -b),
  );
  return e.push({ kind: "bitpack", name: src.name, thresholds }, [input]);
}

/** A dense or conv layer: binary (XOR-popcount, exact affine output), BWN or float. */
function weightLayer(e: GraphEmitter, src: Source, input: string): string {
  const cfg = src.config;
  const name = src.name;
  const { inQ, kQ, kernelShape, outC, quantized, bias } = weightLayerParts(src);
  const conv = src.type === "quant_conv2d";
  const geometry = conv ? { strides: [cfg.stride, cfg.stride], padding: cfg.padding } : {};
  if (!inQ || kQ?.bits !== 1) {
    let from = input;
    if (inQ) from = e.push({ kind: "unpack", name: `${name}.unpack` }, [e.bits(input)]);
    else if (e.out(input).layout !== "float") fail(src, "real-valued input expected, but its input is bits");
    const signed = kQ?.bits === 1 ? bwnWeights(quantized, kernelShape) : null;
    const weights = signed ?? { weights: f32(kernelShape, quantized) };
    const kind = signed ? (conv ? "bwn_conv2d" : "bwn_dense") : conv ? "float_conv2d" : "float_dense";
    const pad = conv ? { padValue: cfg.padValue } : {};
    return e.push(
      { kind, name, ...weights, ...geometry, ...pad, ...(bias ? { bias: f32([outC], bias) } : {}) },
      [from],
    );
  }
  const { bits, alpha } = packWeightSigns(quantized, kernelShape, src.label);
  const affine = exactAffine(outC, { alpha, bias });
  return e.push(
    {
      kind: conv ? "binary_conv2d" : "binary_dense",
      name,
      weights: bits,
      ...geometry,
      ...(conv ? { padValue: cfg.padValue } : {}),
      output: { kind: "affine", scale: f32([outC], affine.scale), bias: f32([outC], affine.bias) },
      quantization: quantizationInfo(cfg),
    },
    [e.bits(input)],
  );
}
