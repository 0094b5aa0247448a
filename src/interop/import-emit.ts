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
  /** The batch norm affine() emitted last, while nothing follows it. */
  private mergeable?: Layer;

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

  /**
   * y = fround(fround(x * a) + b) per channel, as an engine batch norm, which computes
   * fround(fround(gamma * fround(fround(x - mean) * invStd)) + beta). A lone add becomes
   * mean = -b; a multiply or an add that follows fills the next identity slot of the
   * batch norm just emitted (invStd, then gamma, then beta), which rounds exactly as the
   * separate ops do: Sub -> Mul -> Mul -> Add is one layer again.
   */
  affine(name: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
    const c = a.length;
    const all = (t: ArrayLike<number>, v: number) => Array.prototype.every.call(t, (x: number) => x === v);
    const pureAdd = all(a, 1);
    const pureMul = all(b, 0);
    const last = this.layers[this.layers.length - 1];
    if (last?.kind === "batchnorm" && last === this.mergeable && all(last.beta.data, 0)) {
      if (pureAdd) {
        last.beta = f32(b);
        return;
      }
      if (pureMul && all(last.gamma.data, 1)) {
        if (all(last.invStd.data, 1)) last.invStd = f32(a);
        else last.gamma = f32(a);
        return;
      }
    }
    this.push({
      kind: "batchnorm",
      name,
      mean: f32(pureAdd ? Array.from(b, (v) => -v) : new Float32Array(c)),
      invStd: f32(pureAdd ? new Float32Array(c).fill(1) : a),
      gamma: f32(new Float32Array(c).fill(1)),
      beta: f32(pureAdd ? new Float32Array(c) : b),
    });
    this.mergeable = this.layers[this.layers.length - 1];
  }
}
