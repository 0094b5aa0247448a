/**
 * A model's constant tensors copied once into the backend's heap (weights, thresholds,
 * flips, batch-norm vectors), as pointers the steps pass to the kernels.
 */
import type { Backend } from "../kernels/index.js";
import type { BwnConv2DLayer, BwnDenseLayer, EngineModel, F32Tensor, Layer, Tensor } from "./model.js";

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

/**
 * Writes float conv weights [o, k] (OHWI, k = kh * kw * c) at `src` transposed to [k, o] at
 * `dst`, the layout of the direct and fused float convs (they load four output channels
 * of one tap at once).
 */
export function transposeConvWeights(backend: Backend, src: number, o: number, k: number, dst: number): void {
  const from = backend.heap.f32At(src, o * k);
  const to = backend.heap.f32At(dst, k * o);
  for (let a = 0; a < o; a++) for (let p = 0; p < k; p++) to[p * o + a] = from[a * k + p]!;
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
      case "bwn_conv2d":
      case "bwn_dense": {
        const weights: F32Tensor = { dtype: "f32", shape: layer.weights.shape, data: signedWeights(layer) };
        return { weights: this.put(weights), bias: layer.bias ? this.put(layer.bias) : undefined };
      }
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
      case "depthwise_conv2d":
        return { weights: this.put(layer.weights), bias: layer.bias ? this.put(layer.bias) : undefined };
      case "prelu":
        return { weights: this.put(layer.alpha) };
      case "shift":
        return { weights: 0, bias: this.put(layer.bias) };
      case "bitpack":
        return { weights: layer.thresholds ? this.put(layer.thresholds) : 0 };
      default:
        return { weights: 0 };
    }
  }

  free(): void {
    for (const p of this.owned) this.backend.heap.free(p);
    this.owned.length = 0;
  }
}

/** A BWN layer's float weights: w[o, j] = bit j of row o ? alpha[o] : -alpha[o]. */
function signedWeights(layer: BwnConv2DLayer | BwnDenseLayer): Float32Array {
  const shape = layer.weights.shape;
  const o = shape[0]!;
  const c = shape[shape.length - 1]!;
  const perChannel = shape.reduce((a, b) => a * b, 1) / o;
  const rowsPerChannel = perChannel / c;
  const words = (c + 31) >>> 5;
  const bits = layer.weights.data;
  const alpha = layer.alpha.data;
  const out = new Float32Array(o * perChannel);
  for (let f = 0; f < o; f++) {
    const a = alpha[f]!;
    for (let r = 0; r < rowsPerChannel; r++) {
      const row = f * rowsPerChannel + r;
      for (let j = 0; j < c; j++) {
        const bit = (bits[row * words + (j >>> 5)]! >>> (j & 31)) & 1;
        out[row * c + j] = bit ? a : -a;
      }
    }
  }
  return out;
}
