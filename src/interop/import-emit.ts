/**
 * Appends engine layers, deriving each layer's activation specs from its input and parameters.
 * A cursor names the layer the next one reads: the last layer (a chain), or any earlier
 * one after `seek` (a graph: the layer then names it in `inputs`). Layers read by more
 * than one consumer are shared and never changed in place.
 */
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
  /** The layer whose output `act` is (undefined before the first layer). */
  at?: string;
  /** Layers with more than one reader. */
  private readonly shared = new Set<string>();

  constructor(input: ActivationSpec) {
    this.act = input;
  }

  /** Moves the cursor to an earlier layer's output. */
  seek(at: string, act: ActivationSpec): void {
    if (at !== this.at) this.mergeable = undefined;
    this.at = at;
    this.act = act;
  }

  /** Marks the cursor's layer as read by more than one consumer. */
  share(): void {
    if (this.at !== undefined) this.shared.add(this.at);
    this.mergeable = undefined;
  }

  /** The cursor's layer when it is the last one and has no other reader: it may be changed in place. */
  tip(): Layer | undefined {
    const last = this.layers[this.layers.length - 1];
    return last && last.name === this.at && !this.shared.has(last.name) ? last : undefined;
  }

  /** Removes the tip (see tip()) and moves the cursor to its input. */
  popTip(): Layer {
    const tip = this.tip()!;
    this.layers.pop();
    this.names.delete(tip.name);
    const before = this.layers[this.layers.length - 1]!;
    const from = tip.inputs?.[0] ?? before.name;
    this.seek(from, this.layers.find((l) => l.name === from)!.out);
    return tip;
  }

  /** Appends a layer reading the cursor; returns its (unique) name. */
  push(draft: Draft): string {
    const last = this.layers[this.layers.length - 1];
    const inputs = last && this.at !== last.name ? { inputs: [this.at!] } : {};
    return this.append({ ...draft, ...inputs }, this.act);
  }

  /** Appends an add or concat reading `inputs` (layer names with their outputs); returns its name. */
  join(draft: Draft, inputs: { at: string; act: ActivationSpec }[]): string {
    const name = this.append({ ...draft, inputs: inputs.map((i) => i.at) }, inputs[0]!.act, (layer) =>
      draft.kind === "concat"
        ? {
            layout: "float",
            shape: [
              ...layer.in.shape.slice(0, -1),
              inputs.reduce((c, i) => c + i.act.shape[i.act.shape.length - 1]!, 0),
            ],
          }
        : outputSpec(layer),
    );
    return name;
  }

  private append(
    draft: Draft,
    input: ActivationSpec,
    out: (layer: Layer) => ActivationSpec = outputSpec,
  ): string {
    let name = draft.name;
    for (let i = 2; this.names.has(name); i++) name = `${draft.name}.${i}`;
    this.names.add(name);
    const layer = { ...draft, name, in: input } as unknown as Layer;
    layer.out = out(layer);
    this.layers.push(layer);
    this.act = layer.out;
    this.at = name;
    this.mergeable = undefined;
    return name;
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
    const last = this.tip();
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
