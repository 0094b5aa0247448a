/**
 * Model variants for the sensitivity analysis: a checkpoint's layer list (type + config,
 * stored in every checkpoint) with one or more weight layers set to another precision,
 * rebuilt into a live model with the checkpoint's tensors.
 *
 * Precision p of a weight layer (bits, 32 = full precision):
 * - p = 1: input and kernel quantizer ste_sign; p in 2..31: dorefa(p) on both (docs/sensitivity.md).
 *   Kernels are first scaled to max |W| = 1 so that dorefa's [-1, 1] grid covers them (the
 *   batch norm after every weight layer absorbs the positive scale); sign ignores it.
 *   In a float twin the layer's input passes a ReLU, which stands where the binary net
 *   binarizes (sign(ReLU(z)) would be the constant +1): the quantizer replaces that ReLU.
 * - p = 32: no quantizers (the layer reads the real-valued batch-norm output), scaling none.
 *
 *     const v = variantRecords(checkpointLayers(ck), [{ layer: 3, bits: 1 }], isGraphCheckpoint(ck));
 *     const model = buildVariant(ctx, ck, v);
 */
import { buildModel } from "../nn/build.js";
import type { Checkpoint, LayerRecord, NamedTensor } from "../nn/checkpointFormat.js";
import type { Model } from "../nn/model.js";
import { isChain, type ModelSpec } from "../nn/spec.js";
import { getQuantizer, type QuantizerSpec } from "../quant/quantizers.js";
import type { Context } from "../tensor/context.js";
import { Random } from "../util/random.js";

export const WEIGHT_TYPES: ReadonlySet<string> = new Set(["quant_conv2d", "quant_dense"]);

/** A weight layer of a model, as the analysis names it. */
export interface WeightLayer {
  /** Index in the model's layer list ("layers.I"). */
  index: number;
  /**
   * Chains: "conv1", "conv2", "dense1", ... (the type's ordinal in the model); graphs: the
   * layer's name in the model spec ("stage2_block1_conv").
   */
  name: string;
  /** The layer's name in the model spec. */
  layer: string;
  type: string;
  /** Bits of the kernel quantizer (32 when none). */
  weightBits: number;
  /** Bits of the input quantizer (32 when none). */
  inputBits: number;
}

/** One precision change: layer index and its new bit width (32 = full precision). */
export interface PrecisionEdit {
  layer: number;
  bits: number;
}

/** A layer record of the variant and where its tensors come from. */
export interface VariantRecord extends LayerRecord {
  /** Index of the checkpoint layer whose tensors it loads; null for a new stateless layer. */
  source: number | null;
  /** Scale kernel (and bias) by 1 / max |kernel| when loading. */
  normalizeKernel?: boolean;
}

const bitsOf = (spec: unknown): number => (spec ? getQuantizer(spec as QuantizerSpec).bits : 32);

/** A checkpoint layer as the analysis reads it: type, config and its name in the spec. */
export interface NamedRecord extends LayerRecord {
  name: string;
}

/** The weight layers of a layer list: named conv1.., dense1.. in a chain, by their spec names in a graph. */
export function weightLayers(records: readonly NamedRecord[], graph = false): WeightLayer[] {
  const counts: Record<string, number> = {};
  const out: WeightLayer[] = [];
  records.forEach((r, index) => {
    if (!WEIGHT_TYPES.has(r.type)) return;
    const short = r.type === "quant_conv2d" ? "conv" : "dense";
    counts[short] = (counts[short] ?? 0) + 1;
    out.push({
      index,
      name: graph ? r.name : `${short}${counts[short]}`,
      layer: r.name,
      type: r.type,
      weightBits: bitsOf(r.config.kernelQuantizer),
      inputBits: bitsOf(r.config.inputQuantizer),
    });
  });
  return out;
}

/** Resolves layer names ("conv2", "dense1" or "layers.3") to weight layers; errors list the known names. */
export function resolveLayers(
  layers: readonly WeightLayer[],
  names: readonly string[],
  source: string,
): WeightLayer[] {
  return resolveGroups(layers, names, source).map((g) => {
    if (g.layers.length !== 1) {
      throw new RangeError(
        `${source}: '${g.name}' names a block of ${g.layers.length} weight layers, not one`,
      );
    }
    return g.layers[0]!;
  });
}

/** A layer, or a block of layers (every weight layer whose spec name starts with a prefix), varied together. */
export interface LayerGroup {
  name: string;
  layers: WeightLayer[];
}

/**
 * Resolves each name to a group: one weight layer ("conv2", "layers.3", a spec name) or, for
 * a name that is none of those, every weight layer whose spec name starts with it (a block,
 * "stage2_block1"). Errors list the known names.
 */
export function resolveGroups(
  layers: readonly WeightLayer[],
  names: readonly string[],
  source: string,
): LayerGroup[] {
  return names.map((n) => {
    const one = layers.find((l) => l.name === n || l.layer === n || `layers.${l.index}` === n);
    if (one) return { name: n, layers: [one] };
    const block = layers.filter((l) => l.layer.startsWith(n));
    if (block.length) return { name: n, layers: block };
    throw new RangeError(
      `${source}: unknown layer '${n}'; its weight layers are ${layers.map((l) => `${l.name} (layers.${l.index})`).join(", ")}, or a name prefix for a block`,
    );
  });
}

function quantSpec(bits: number): QuantizerSpec {
  return bits === 1 ? { name: "ste_sign" } : { name: "dorefa", options: { k: bits } };
}

/** The checkpoint's layer list with `edits` applied (see the module doc for the rules). */
export function variantRecords(
  records: readonly LayerRecord[],
  edits: readonly PrecisionEdit[],
  graph = false,
): VariantRecord[] {
  const byLayer = new Map(edits.map((e) => [e.layer, e.bits]));
  const out: VariantRecord[] = [];
  records.forEach((r, index) => {
    const bits = byLayer.get(index);
    if (bits === undefined) {
      out.push({ type: r.type, config: { ...r.config }, source: index });
      return;
    }
    if (!WEIGHT_TYPES.has(r.type)) throw new RangeError(`layers.${index} (${r.type}) is not a weight layer`);
    if (!Number.isInteger(bits) || bits < 1 || bits > 32) {
      throw new RangeError(`layers.${index}: bit width must be 1..32, got ${bits}`);
    }
    const config = { ...r.config };
    if (bits === 32) {
      Object.assign(config, { inputQuantizer: null, kernelQuantizer: null, scaling: "none", kernelClip: 0 });
      out.push({ type: r.type, config, source: index });
      return;
    }
    // In a chain the float twin's ReLU before the layer gives way to the quantizer; a graph
    // keeps its wiring (the ReLU stays; sign(ReLU(x)) is then +1: use a binary checkpoint).
    const prev = out[out.length - 1];
    if (!graph && prev?.type === "activation" && prev.config.fn === "relu") out.pop();
    const q = quantSpec(bits);
    Object.assign(config, { inputQuantizer: q, kernelQuantizer: q, scaling: "none", kernelClip: 1 });
    out.push({ type: r.type, config, source: index, normalizeKernel: bits > 1 });
  });
  return out;
}

/** The checkpoint's layers as records (type, config, spec name), in model order. */
export function checkpointLayers(ck: Checkpoint): NamedRecord[] {
  return ck.spec.layers.map((l) => ({ name: l.name, type: l.type, config: l.config }));
}

/** True when the checkpoint's model is a graph (a layer reads more than the one before it). */
export function isGraphCheckpoint(ck: Checkpoint): boolean {
  return !isChain(ck.spec);
}

/** The model input shape a checkpoint was built for. */
export function checkpointInputShape(ck: Checkpoint): number[] {
  return [...ck.spec.inputs[0]!.shape];
}

const layerName = (ck: Checkpoint, r: VariantRecord, i: number) =>
  r.source === null ? `variant_${i}` : ck.spec.layers[r.source]!.name;

/**
 * The variant's model spec: a graph keeps its wiring with the new configs; a chain is
 * rewired in order (a removed ReLU drops out). Retraining builds it from scratch.
 */
export function variantSpec(ck: Checkpoint, records: readonly VariantRecord[]): ModelSpec {
  const inputName = ck.spec.inputs[0]!.name;
  const names = records.map((r, i) => layerName(ck, r, i));
  return isGraphCheckpoint(ck)
    ? { ...ck.spec, layers: ck.spec.layers.map((l, i) => ({ ...l, config: records[i]!.config })) }
    : {
        ...ck.spec,
        layers: records.map((r, i) => ({
          name: names[i]!,
          type: r.type,
          inputs: [i === 0 ? inputName : names[i - 1]!],
          config: r.config,
        })),
        outputs: [names[names.length - 1]!],
      };
}

/** Builds the variant and loads the checkpoint's tensors into it; `source` names the checkpoint in errors. */
export function buildVariant(
  ctx: Context,
  ck: Checkpoint,
  records: readonly VariantRecord[],
  source = "checkpoint",
): Model {
  const model = buildModel(ctx, variantSpec(ck, records), new Random(0), { source, origin: ck.model });
  records.forEach((r, i) => {
    if (r.source === null) return;
    const layer = model.layers[i]!;
    const prefix = `${layerName(ck, r, i)}.`;
    const tensors = [...layer.params(), ...layer.buffers()];
    const kernel = r.normalizeKernel ? ck.tensors.get(`${prefix}kernel`) : undefined;
    const scale = kernel ? 1 / maxAbs(kernel) : 1;
    for (const t of tensors) {
      const name = `${prefix}${t.name}`;
      const stored = ck.tensors.get(name);
      if (!stored) throw new Error(`${source}: tensor '${name}' is missing`);
      checkShape(stored, t.tensor.shape, name, source);
      const data = t.tensor.data;
      data.set(stored.data);
      if (scale !== 1 && (t.name === "kernel" || t.name === "bias"))
        for (let j = 0; j < data.length; j++) data[j]! *= scale;
    }
  });
  return model;
}

function maxAbs(t: NamedTensor): number {
  let m = 0;
  for (const v of t.data) m = Math.max(m, Math.abs(v));
  return m > 0 ? m : 1;
}

function checkShape(stored: NamedTensor, shape: readonly number[], name: string, source: string): void {
  if (stored.shape.length !== shape.length || stored.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${source}: tensor '${name}' has shape [${stored.shape}], the layer expects [${shape}]`);
  }
}
