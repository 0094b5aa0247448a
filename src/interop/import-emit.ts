/** Appends engine layers, deriving each layer's activation specs from its input and parameters. */
import type { ActivationSpec, F32Tensor, Layer } from "../engine/model.js";
import { outputSpec } from "../export/convert-shapes.js";

/** An engine layer without its activation specs. */
export type Draft = { kind: Layer["kind"]; name: string; [key: string]: unknown };

export function f32(data: ArrayLike<number>, shape: number[] = [data.length]): F32Tensor {
  return { dtype: "f32", shape, data: Float32Array.from(data) };
}

export class Emitter {
  readonly layers: Layer[] = [];
  act: ActivationSpec;
  private readonly names = new Set<string>();

  constructor(input: ActivationSpec) {
    this.act = input;
  }

  push(draft: Draft): void {
    let name = draft.name;
    for (let i = 2; this.names.has(name); i++) name = `${draft.name}.${i}`;
    this.names.add(name);
    const layer = { ...draft, name, in: this.act } as unknown as Layer;
    layer.out = outputSpec(layer);
    this.layers.push(layer);
    this.act = layer.out;
  }

  /** y = fround(fround(x * a) + b) per channel, as an engine batch norm (mean 0, invStd a, gamma 1, beta b). */
  affine(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
    const c = a.length;
    this.push({
      kind: "batchnorm",
      name,
      mean: f32(new Float32Array(c)),
      invStd: f32(a),
      gamma: f32(new Float32Array(c).fill(1)),
      beta: f32(b),
    });
  }
}
