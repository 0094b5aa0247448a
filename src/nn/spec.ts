/**
 * The model spec: a model as data. A spec lists the model's inputs, its layers (each with a
 * unique name, a type, a config and the names of the tensors it reads) and its outputs:
 *
 *     { "format": "onebit-model", "version": 1, "name": "tiny",
 *       "inputs": [{ "name": "image", "shape": [28, 28, 1] }],
 *       "layers": [
 *         { "name": "flatten_1", "type": "flatten", "inputs": ["image"], "config": {} },
 *         { "name": "dense_1", "type": "quant_dense", "inputs": ["flatten_1"], "config": { "units": 10 } } ],
 *       "outputs": ["dense_1"] }
 *
 * A tensor is named by the layer (or input) that produces it; each layer has one output.
 * `resolveSpec` checks a spec (JSON from a file, or built by src/nn/functional.ts) and
 * returns it *resolved*: layers in topological order and every config with its defaults
 * written in, so that a resolved spec rebuilds exactly the same model and serializes to the
 * same JSON (a checkpoint stores it). Parameters are named `LAYER.kernel`, `LAYER.gamma`, ...
 * so inserting a layer renames nothing else.
 */
import { OnebitError } from "../errors.js";
import { layerKind } from "./registry.js";

export const SPEC_FORMAT = "onebit-model";
export const SPEC_VERSION = 1;

/** A model spec's input: its name and its per-example shape. */
export interface InputSpec {
  name: string;
  /** Shape without the batch dimension, e.g. [28, 28, 1]. */
  shape: number[];
}

/**
 * One layer of a model spec: a unique name, a registry type, the tensors it reads and its
 * config.
 */
export interface LayerSpec {
  name: string;
  /** A layer type of the registry (src/nn/registry.ts): "quant_conv2d", "add", ... */
  type: string;
  /** Names of the layers or inputs it reads, in order. */
  inputs: string[];
  config: Record<string, unknown>;
}

/**
 * A model as data (JSON): one input, named layers wired by the names of what they read, and one
 * output (docs/architecture.md, "Models and the model spec").
 */
export interface ModelSpec {
  format: typeof SPEC_FORMAT;
  version: number;
  name: string;
  inputs: InputSpec[];
  layers: LayerSpec[];
  outputs: string[];
}

/** A spec that cannot describe a model: the message names the spec, the layer and the fault. */
export class ModelSpecError extends OnebitError {
  override readonly name = "ModelSpecError";
}

/** The resolved spec with every tensor's shape (without batch), by name. */
export interface ResolvedSpec {
  spec: ModelSpec;
  shapes: Map<string, number[]>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;
const MAX_LAYERS = 10_000;

/**
 * Checks a spec and resolves it (see the module doc). `source` names it in errors (a file
 * name, or "model spec"). Errors: not an object, a bad or duplicate name, an unknown layer
 * type, an input that names no layer, a cycle, a layer given the wrong number of inputs,
 * and any shape mismatch (naming the layer and the shapes).
 */
export function resolveSpec(raw: unknown, source = "model spec"): ResolvedSpec {
  const fail = (why: string): never => {
    throw new ModelSpecError(`${source}: ${why}`);
  };
  if (!isObject(raw)) return fail("not a JSON object");
  if (raw.format !== SPEC_FORMAT) fail(`format is ${show(raw.format)}, expected "${SPEC_FORMAT}"`);
  if (raw.version !== SPEC_VERSION) fail(`version ${show(raw.version)}, this reader knows ${SPEC_VERSION}`);
  const name = raw.name ?? "model";
  if (typeof name !== "string" || name.length > 256) fail("name must be a string of at most 256 characters");
  if (!Array.isArray(raw.inputs) || raw.inputs.length !== 1) {
    fail("inputs must list exactly one input { name, shape } (models take one image tensor)");
  }
  if (!Array.isArray(raw.layers) || raw.layers.length < 1 || raw.layers.length > MAX_LAYERS) {
    fail(`layers must be a list of 1..${MAX_LAYERS} layers`);
  }
  if (!Array.isArray(raw.outputs) || raw.outputs.length !== 1 || typeof raw.outputs[0] !== "string") {
    fail("outputs must name exactly one layer (the class scores)");
  }
  const inputs = (raw.inputs as unknown[]).map((v, i) => inputSpec(v, i, fail));
  const layers = (raw.layers as unknown[]).map((v, i) => layerSpec(v, i, fail));
  const producers = new Map<string, LayerSpec | InputSpec>();
  for (const t of [...inputs, ...layers]) {
    if (producers.has(t.name)) fail(`the name '${t.name}' is used twice`);
    producers.set(t.name, t);
  }
  for (const l of layers) {
    for (const i of l.inputs) {
      if (!producers.has(i)) fail(`layer '${l.name}' reads '${i}', which is no layer or input of the model`);
    }
  }
  const sorted = topologicalOrder(layers, fail);
  const shapes = new Map<string, number[]>(inputs.map((i) => [i.name, i.shape]));
  const resolved: LayerSpec[] = [];
  for (const l of sorted) {
    const where = `${source}: layer '${l.name}' (${l.type})`;
    let r: { config: Record<string, unknown>; shape: number[] };
    try {
      const kind = layerKind(l.type, `${source}: layer '${l.name}'`);
      if (kind.arity === 1 && l.inputs.length !== 1) {
        throw new Error(`${where}: takes one input, got ${l.inputs.length}`);
      }
      if (kind.arity === "many" && l.inputs.length < 2) {
        throw new Error(`${where}: takes two or more inputs, got ${l.inputs.length}`);
      }
      r = kind.resolve(
        l.config,
        l.inputs.map((i) => shapes.get(i)!),
        where,
      );
    } catch (e) {
      const message = (e as Error).message;
      throw new ModelSpecError(message.startsWith(source) ? message : `${where}: ${message}`);
    }
    shapes.set(l.name, r.shape);
    resolved.push({ name: l.name, type: l.type, inputs: [...l.inputs], config: r.config });
  }
  const out = (raw.outputs as string[])[0]!;
  if (!producers.has(out) || inputs.some((i) => i.name === out)) fail(`output '${out}' names no layer`);
  const spec: ModelSpec = {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    name: name as string,
    inputs: inputs.map((i) => ({ name: i.name, shape: [...i.shape] })),
    layers: resolved,
    outputs: [out],
  };
  return { spec, shapes };
}

/** Layers ordered so that each comes after the layers it reads (stable: the given order where it already is). */
function topologicalOrder(layers: LayerSpec[], fail: (why: string) => never): LayerSpec[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const state = new Map<string, "visiting" | "done">();
  const out: LayerSpec[] = [];
  const visit = (l: LayerSpec, path: string[]): void => {
    const s = state.get(l.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(l.name)), l.name];
      fail(`the layers form a cycle: ${cycle.join(" -> ")}`);
    }
    state.set(l.name, "visiting");
    for (const i of l.inputs) {
      const p = byName.get(i);
      if (p) visit(p, [...path, l.name]);
    }
    state.set(l.name, "done");
    out.push(l);
  };
  for (const l of layers) visit(l, []);
  return out;
}

function inputSpec(v: unknown, i: number, fail: (why: string) => never): InputSpec {
  if (!isObject(v) || typeof v.name !== "string" || !NAME.test(v.name)) {
    return fail(`input ${i} needs a name (letters, digits, _ . / -; at most 128 characters)`);
  }
  const shape = v.shape;
  if (
    !Array.isArray(shape) ||
    shape.length < 1 ||
    shape.length > 4 ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= 1 << 16)
  ) {
    fail(`input '${v.name}' has shape ${show(shape)}, expected 1..4 positive integers`);
  }
  return { name: v.name, shape: [...(shape as number[])] };
}

function layerSpec(v: unknown, i: number, fail: (why: string) => never): LayerSpec {
  if (!isObject(v)) return fail(`layer ${i} is ${show(v)}, not an object`);
  if (typeof v.name !== "string" || !NAME.test(v.name)) {
    fail(`layer ${i} has name ${show(v.name)}; a name is letters, digits, _ . / - (at most 128 characters)`);
  }
  const name = v.name as string;
  if (typeof v.type !== "string") fail(`layer '${name}' has no type`);
  if (!Array.isArray(v.inputs) || !v.inputs.every((s) => typeof s === "string")) {
    fail(`layer '${name}' needs inputs: a list of layer or input names`);
  }
  const config = v.config ?? {};
  if (!isObject(config)) fail(`layer '${name}' has config ${show(config)}, not an object`);
  return {
    name,
    type: v.type as string,
    inputs: [...(v.inputs as string[])],
    config: { ...(config as object) },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** True when the spec is a chain: each layer reads the one before it (the first reads the input). */
export function isChain(spec: ModelSpec): boolean {
  return (
    spec.layers.every(
      (l, i) =>
        l.inputs.length === 1 && l.inputs[0] === (i === 0 ? spec.inputs[0]!.name : spec.layers[i - 1]!.name),
    ) && spec.outputs[0] === spec.layers[spec.layers.length - 1]!.name
  );
}
