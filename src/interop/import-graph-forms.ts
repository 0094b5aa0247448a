/**
 * The format 2.0 forms of an imported graph. The walker emits what a chain can hold (a
 * per-channel Add as a batch norm, GlobalAveragePool as an h x w average pool and a
 * flatten), so chain models stay format 1.x files. A model that is format 2.0 anyway (it
 * has `inputs` or a 2.0 kind) gets the engine's graph kinds for them, each computing the
 * same float32 values:
 * - a batch norm that only adds (invStd = gamma = 1, beta = 0): fround(x - mean).
 *   Read only by a bitpack, it is that bitpack's thresholds (x >= mean, exactly when
 *   fround(x - mean) >= 0: float subtraction keeps the sign of the exact difference);
 *   otherwise a `shift` with bias = -mean;
 * - an average pool with one window over the whole image (valid padding), read only by a
 *   flatten: `globalavgpool` (which the engine computes as that pool).
 */
import { type Layer, needsFormat2 } from "../engine/model.js";
import { f32 } from "./import-emit.js";

const all = (t: Float32Array, v: number) => t.every((x) => x === v);

/** Rewrites `layers` in place into their format 2.0 forms when the model needs format 2.0 (module doc). */
export function graphForms(layers: Layer[]): void {
  if (!needsFormat2({ name: "", classNames: [], layers, metadata: {} })) return;
  // Every layer names its inputs while layers move; the layer before is left implicit again at the end.
  layers.forEach((l, i) => {
    if (i > 0 && !l.inputs) l.inputs = [layers[i - 1]!.name];
  });
  const readers = (name: string) => layers.filter((l) => l.inputs?.includes(name));
  const remove = (layer: Layer, by: string) => {
    layers.splice(layers.indexOf(layer), 1);
    for (const l of layers) if (l.inputs) l.inputs = l.inputs.map((n) => (n === layer.name ? by : n));
  };
  for (const layer of [...layers]) {
    if (
      layer.kind === "batchnorm" &&
      all(layer.invStd.data, 1) &&
      all(layer.gamma.data, 1) &&
      all(layer.beta.data, 0)
    ) {
      const r = readers(layer.name);
      const only = r.length === 1 ? r[0] : undefined;
      if (only?.kind === "bitpack" && !only.thresholds) {
        only.thresholds = f32(layer.mean.data);
        only.in = layer.in;
        remove(layer, layer.inputs![0]!);
      } else {
        const shift: Layer = {
          kind: "shift",
          name: layer.name,
          ...(layer.inputs ? { inputs: layer.inputs } : {}),
          in: layer.in,
          out: layer.out,
          bias: f32(layer.mean.data.map((v) => -v)),
        };
        layers[layers.indexOf(layer)] = shift;
      }
      continue;
    }
    if (layer.kind === "avgpool") {
      const [h, w] = layer.in.shape as [number, number];
      const r = readers(layer.name);
      const global = layer.poolSize[0] === h && layer.poolSize[1] === w && layer.padding === "valid";
      if (global && r.length === 1 && r[0]!.kind === "flatten") {
        const flatten = r[0]!;
        const pool: Layer = {
          kind: "globalavgpool",
          name: layer.name,
          ...(layer.inputs ? { inputs: layer.inputs } : {}),
          in: layer.in,
          out: flatten.out,
        };
        layers[layers.indexOf(layer)] = pool;
        remove(flatten, pool.name);
      }
    }
  }
  layers.forEach((l, i) => {
    const many = l.kind === "add" || l.kind === "concat";
    if (l.inputs && !many && l.inputs.length === 1 && l.inputs[0] === layers[i - 1]?.name) delete l.inputs;
  });
}
