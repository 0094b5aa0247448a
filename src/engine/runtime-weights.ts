/**
 * A model's constant tensors copied once into the backend's heap (weights, thresholds,
 * flips, batch-norm vectors), as pointers the steps pass to the kernels.
 */
import type { Backend } from "../kernels/index.js";
import type { EngineModel, Layer, Tensor } from "./model.js";

export interface LayerWeights {
  weights: number;
  bias?: number;
  transform?:
    | { kind: "threshold"; thresholds: number; flip: number }
    | { kind: "affine"; scale: number; bias: number };
  batchNorm?: { mean: number; invStd: number; gamma: number; beta: number };
  /** maxpool on bits: the flipped channels, packed. */
  flip?: number;
}

export class ModelWeights {
  readonly layers: LayerWeights[];
  private readonly owned: number[] = [];

  constructor(
    private readonly backend: Backend,
    model: EngineModel,
  ) {
    this.layers = model.layers.map((layer) => this.upload(layer));
  }

  private put(t: Tensor): number {
    const heap = this.backend.heap;
    const ptr = heap.alloc(Math.max(t.data.length, 1) * 4, true);
    this.owned.push(ptr);
    const view = heap.u32At(ptr, t.data.length);
    view.set(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
    return ptr;
  }

  private upload(layer: Layer): LayerWeights {
    switch (layer.kind) {
      case "float_conv2d":
      case "float_dense":
        return { weights: this.put(layer.weights), bias: layer.bias ? this.put(layer.bias) : undefined };
      case "binary_conv2d":
      case "binary_dense": {
        const t = layer.output;
        const transform =
          t.kind === "threshold"
            ? { kind: "threshold" as const, thresholds: this.put(t.thresholds), flip: this.put(t.flip) }
            : { kind: "affine" as const, scale: this.put(t.scale), bias: this.put(t.bias) };
        return { weights: this.put(layer.weights), transform };
      }
      case "batchnorm":
        return {
          weights: 0,
          batchNorm: {
            mean: this.put(layer.mean),
            invStd: this.put(layer.invStd),
            gamma: this.put(layer.gamma),
            beta: this.put(layer.beta),
          },
        };
      case "maxpool":
        return { weights: 0, flip: layer.flip ? this.put(layer.flip) : undefined };
      default:
        return { weights: 0 };
    }
  }

  free(): void {
    for (const p of this.owned) this.backend.heap.free(p);
    this.owned.length = 0;
  }
}
