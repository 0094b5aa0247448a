/**
 * Spec -> live model. `buildModel` takes a model spec (from src/nn/functional.ts, a JSON
 * file or a checkpoint) or a builder config ({ builder: "bnn-cnn", options }), resolves it
 * and creates each layer; `rng` draws the initial weights, layer by layer in spec order.
 *
 *     const model = buildModel(ctx, builderSpec({ builder: "bnn-cnn", options: {} }), new Random(0));
 */
import type { Context } from "../tensor/context.js";
import type { Random } from "../util/random.js";
import { type BuilderConfig, builderSpec } from "./builders.js";
import type { ModelConfig } from "./checkpointFormat.js";
import type { Layer } from "./layer.js";
import { Model } from "./model.js";
import { layerKind } from "./registry.js";
import { type ModelSpec, resolveSpec } from "./spec.js";

/**
 * What `buildModel` takes: a model spec, or a builder name with its options (typed per
 * builder as a BuilderConfig, or as a checkpoint stores it, a ModelConfig).
 */
export type ModelSource = ModelSpec | ModelConfig | BuilderConfig;

/** True for a builder config ({ builder, options }), false for a spec. */
export function isBuilderConfig(m: ModelSource): m is ModelConfig | BuilderConfig {
  return typeof (m as ModelConfig).builder === "string";
}

/** The resolved spec of a model source, and the builder config it came from (if any). */
export function specOf(m: ModelSource, source = "model spec"): { spec: ModelSpec; origin?: ModelConfig } {
  if (isBuilderConfig(m)) {
    const spec = builderSpec(m);
    return { spec, origin: { builder: m.builder, options: { ...(m.options ?? {}) } } };
  }
  return { spec: resolveSpec(m, source).spec };
}

export interface BuildOptions {
  /** Names the spec (a file) in errors. */
  source?: string;
  /** The builder config a spec came from (a checkpoint records it). */
  origin?: ModelConfig;
}

/** Builds the live model of a spec or builder config. */
export function buildModel(ctx: Context, m: ModelSource, rng: Random, o: BuildOptions = {}): Model {
  const source = o.source;
  const { spec, origin = o.origin } = specOf(m, source);
  const { shapes } = resolveSpec(spec, source);
  const layers: Layer[] = [];
  try {
    for (const l of spec.layers) {
      const where = `layer '${l.name}' (${l.type})`;
      const inputs = l.inputs.map((i) => shapes.get(i)!);
      layers.push(layerKind(l.type, where).create(ctx, l.config, inputs, rng, where));
    }
  } catch (e) {
    for (const l of layers) l.dispose();
    throw e;
  }
  return new Model(ctx, spec, layers, origin);
}
