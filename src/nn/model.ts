/**
 * A trainable model: the live layers of a resolved model spec (src/nn/spec.ts), run in the
 * spec's topological order. Parameters and buffers are named `LAYER.NAME` ("conv1.kernel",
 * "bn1.runningMean"): names survive inserting a layer. Build one with `buildModel`
 * (src/nn/build.ts) from a spec or a builder config.
 */
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Param } from "../train/optimizers.js";
import type { ModelConfig } from "./checkpointFormat.js";
import type { ForwardMode, Layer } from "./layer.js";
import { isChain, type ModelSpec, SPEC_FORMAT, SPEC_VERSION } from "./spec.js";

/**
 * A live model built from a resolved spec: its layers, wired by name, with parameters named
 * `LAYER.NAME`; `forward` runs them in spec order.
 */
export class Model {
  /** Input shape without the batch dimension, e.g. [28, 28, 1]. */
  readonly inputShape: readonly number[];
  /** Layer names, aligned with `layers` and `spec.layers`. */
  readonly names: readonly string[];
  /** True when each layer reads the one before it (what the format 1.x engine runs). */
  readonly isChain: boolean;
  /** For each layer, where its inputs come from: -1 the model input, else a layer index. */
  readonly sources: readonly (readonly number[])[];
  private readonly output: number;

  constructor(
    readonly ctx: Context,
    /** The resolved spec (every config with its defaults written in). */
    readonly spec: ModelSpec,
    /** The live layers, aligned with `spec.layers`. */
    readonly layers: readonly Layer[],
    /** The builder config the spec came from, when it came from one. */
    readonly origin?: ModelConfig,
  ) {
    if (layers.length !== spec.layers.length) {
      throw new Error(`Model: ${layers.length} layers for a spec of ${spec.layers.length}`);
    }
    this.inputShape = spec.inputs[0]!.shape;
    this.names = spec.layers.map((l) => l.name);
    const index = new Map<string, number>([[spec.inputs[0]!.name, -1]]);
    for (const [i, n] of this.names.entries()) index.set(n, i);
    this.sources = spec.layers.map((l) => l.inputs.map((i) => index.get(i)!));
    this.output = index.get(spec.outputs[0]!)!;
    this.isChain = isChain(spec);
  }

  /**
   * A chain of live layers (each reads the one before) as a model, its layers named
   * TYPE_K in order: for tests and tools that assemble layers by hand.
   */
  static chain(ctx: Context, inputShape: readonly number[], layers: readonly Layer[], name = "model"): Model {
    const counts = new Map<string, number>();
    const names = layers.map((l) => {
      const k = (counts.get(l.type) ?? 0) + 1;
      counts.set(l.type, k);
      return `${l.type}_${k}`;
    });
    const spec: ModelSpec = {
      format: SPEC_FORMAT,
      version: SPEC_VERSION,
      name,
      inputs: [{ name: "input", shape: [...inputShape] }],
      layers: layers.map((l, i) => ({
        name: names[i]!,
        type: l.type,
        inputs: [i === 0 ? "input" : names[i - 1]!],
        config: l.config,
      })),
      outputs: [names[names.length - 1]!],
    };
    return new Model(ctx, spec, layers);
  }

  /** The model's name (the spec's). */
  get name(): string {
    return this.spec.name;
  }

  /** Runs every layer; `x` is [N, ...inputShape]. `onLayer` sees each layer's output in turn. */
  forward(x: Tensor, mode: ForwardMode, onLayer?: (index: number, output: Tensor) => void): Tensor {
    const values: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const inputs = this.sources[i]!.map((j) => (j < 0 ? x : values[j]!));
      values.push(layer.forwardAll ? layer.forwardAll(inputs, mode) : layer.forward(inputs[0]!, mode));
      onLayer?.(i, values[i]!);
    });
    return values[this.output]!;
  }

  /** Trainable parameters with their checkpoint names. */
  params(): Param[] {
    return this.layers.flatMap((l, i) =>
      l.params().map((p) => ({ ...p, name: `${this.names[i]}.${p.name}` })),
    );
  }

  /** Every saved tensor: parameters, then buffers (running statistics), by checkpoint name. */
  namedTensors(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    this.layers.forEach((l, i) => {
      for (const p of l.params()) m.set(`${this.names[i]}.${p.name}`, p.tensor);
      for (const b of l.buffers()) m.set(`${this.names[i]}.${b.name}`, b.tensor);
    });
    return m;
  }

  /** Parameter counts by precision: weights binarized in the forward pass vs the rest. */
  paramCounts(): { binary: number; float: number } {
    let binary = 0;
    let float = 0;
    for (const p of this.params()) {
      if (p.binary) binary += p.tensor.size;
      else float += p.tensor.size;
    }
    return { binary, float };
  }

  /** Frees every layer's parameters and buffers. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
