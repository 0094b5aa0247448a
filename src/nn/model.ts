/**
 * A sequential model: a list of layers, the config that rebuilt it (builder + options) and
 * the stable parameter names "layers.I.NAME" used by checkpoints and the exporter.
 */
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Param } from "../train/optimizers.js";
import type { ModelConfig } from "./checkpointFormat.js";
import type { ForwardMode, Layer } from "./layer.js";

export class Model {
  constructor(
    readonly ctx: Context,
    readonly config: ModelConfig,
    /** Input shape without the batch dimension, e.g. [28, 28, 1]. */
    readonly inputShape: readonly number[],
    readonly layers: readonly Layer[],
  ) {}

  /** Runs every layer; `x` is [N, ...inputShape]. */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h, mode);
    return h;
  }

  /** Trainable parameters with their checkpoint names. */
  params(): Param[] {
    return this.layers.flatMap((l, i) => l.params().map((p) => ({ ...p, name: `layers.${i}.${p.name}` })));
  }

  /** Every saved tensor: parameters, then buffers (running statistics), by checkpoint name. */
  namedTensors(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    this.layers.forEach((l, i) => {
      for (const p of l.params()) m.set(`layers.${i}.${p.name}`, p.tensor);
      for (const b of l.buffers()) m.set(`layers.${i}.${b.name}`, b.tensor);
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

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}
