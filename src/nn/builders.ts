/**
 * Model builders: the reference architectures (docs/architecture.md), each with a float twin
 * (`float: true`: no quantizers, ReLU where the binary net has sign).
 *
 * Conventions shared by all builders:
 * - Hidden activations of a binary net are sign(BN(x)), expressed as the next binary
 *   layer's input quantizer (ste_sign).
 * - `first` / `last` set the first and last weight layers: 'float' (real weights; the
 *   first layer also takes the real image), 'bwn' (binary weights) or 'binary' (binary
 *   weights and binary input). Default 'float' for both, as in XNOR-Net, except the first
 *   layer of `bnn-mlp`, which is 'bwn': Hubara et al. binarize every weight of the MLP, and
 *   a float 784 x N first layer would be most of the packed file (3.2 MB of 3.5 MB at
 *   N = 1024). The PyTorch reference (and the Larq tutorial) is first 'bwn', last 'binary'.
 *   `resolveModelConfig` writes the defaults into a config, so checkpoints name them.
 * - Batch norm: the CNNs use Keras momentum 0.99, eps 1e-3, scale = false (Larq tutorial);
 *   the MLP uses PyTorch's defaults (momentum 0.9 in Keras' convention, eps 1e-5).
 *
 * Each builder returns a model spec (src/nn/spec.ts); `buildModel` builds it:
 *
 *     const spec = builderSpec({ builder: "bnn-mlp", options: { width: 256 } });
 *     const model = buildModel(ctx, spec, rng);
 *
 * Options are checked before anything is built: an unknown key (a typo such as `widht`, or
 * `width` on a CNN, whose filters scale with `widthMultiplier`) or a bad value is an
 * OptionsError naming the builder and the option. `BuilderConfig` types each builder's
 * options, so TypeScript catches the same mistakes in a literal.
 */
import { OptionsError } from "../errors.js";
import type { Padding } from "../kernels/geometry.js";
import {
  booleanOption,
  integerIn,
  numberIn,
  oneOf,
  plainObject,
  positiveInteger,
  rejectUnknownKeys,
  showValue,
} from "../util/options.js";
import type { ModelConfig } from "./checkpointFormat.js";
import {
  type BatchNormOptions,
  type LayerDefinition,
  layers,
  type QuantHooks,
  sequential,
} from "./functional.js";
import type { Scaling } from "./quantLayers.js";
import { type ResidualOptions, residualBuilders } from "./residualBuilders.js";
import type { ModelSpec } from "./spec.js";

/**
 * How a builder makes its first or last layer: float, binary weights only ("bwn") or fully
 * binary.
 */
export type LayerPrecision = "float" | "bwn" | "binary";

/** Options every builder accepts. */
export interface CommonOptions {
  /** Input shape [H, W, C] (set from the data set). Default [28, 28, 1]. */
  inputShape?: number[];
  /** Number of classes. Default 10. */
  classes?: number;
  /** The float twin. */
  float?: boolean;
  first?: LayerPrecision;
  last?: LayerPrecision;
  /** Conv padding value for binary convolutions (-1, 0, +1). Default 0. */
  padValue?: -1 | 0 | 1;
  /** CNNs: conv padding, 'valid' (the Larq tutorial; default) or 'same' (padValue then matters). */
  padding?: Padding;
  /** Input quantizer of binary layers. Default "ste_sign". */
  activationQuantizer?: string;
  /** Kernel quantizer of binary layers. Default "ste_sign". */
  weightQuantizer?: string;
}

export interface MlpOptions extends CommonOptions {
  /** Hidden units per layer (BNN paper: 4096). Default 1024 (the PyTorch reference). */
  width?: number;
  /** Hidden layers. Default 3. */
  depth?: number;
  /** Dropout after each hidden BN (0 = none). Default 0. */
  dropout?: number;
}

/** Options of `bnn-cnn` and `bwn-cnn`. */
export interface CnnOptions extends CommonOptions {
  /**
   * Filter-count multiplier on 32-64-64 and the 64-unit dense layer (the CLI's `--width`).
   * Default 1; fractions are fine while 32 x widthMultiplier is whole.
   */
  widthMultiplier?: number;
}

/** Options of `xnor-cnn`. */
export interface XnorCnnOptions extends CnnOptions {
  /**
   * 'xnor' (XNOR-Net: weight scale alpha and activation scale K, default) or
   * 'xnor-weights' (alpha only; K needs the real-valued input, which the packed engine
   * does not have, so this is the exportable variant).
   */
  scaling?: "xnor" | "xnor-weights";
}

/**
 * A builder name with its options, typed per builder: what `train()` takes as its model
 * (besides a spec). `buildModel` and `builderSpec` take it too.
 *
 *     const model: BuilderConfig = { builder: "bnn-cnn", options: { widthMultiplier: 2 } };
 */
export type BuilderConfig =
  | { builder: "bnn-mlp"; options?: MlpOptions }
  | { builder: "bnn-cnn" | "bwn-cnn"; options?: CnnOptions }
  | { builder: "xnor-cnn"; options?: XnorCnnOptions }
  | { builder: "birealnet" | "reactnet" | "quicknet"; options?: ResidualOptions };

/** The builder names, as a type. */
export type BuilderName = BuilderConfig["builder"];

const COMMON_KEYS = [
  "inputShape",
  "classes",
  "float",
  "first",
  "last",
  "padValue",
  "padding",
  "activationQuantizer",
  "weightQuantizer",
] as const;
const CNN_KEYS = [...COMMON_KEYS, "widthMultiplier"];
/** Each builder's option names. */
const BUILDER_KEYS: Record<string, readonly string[]> = {
  "bnn-mlp": [...COMMON_KEYS, "width", "depth", "dropout"],
  "bnn-cnn": CNN_KEYS,
  "bwn-cnn": CNN_KEYS,
  "xnor-cnn": [...CNN_KEYS, "scaling"],
};
const CNN_HINTS = {
  width: "the CNN builders scale their filters with 'widthMultiplier' (the CLI's --width)",
  stages: "stages is an option of birealnet, reactnet and quicknet",
};
const HINTS: Record<string, Record<string, string>> = {
  "bnn-mlp": {
    widthMultiplier: "bnn-mlp sets its hidden units with 'width'",
    stages: "stages is an option of birealnet, reactnet and quicknet",
  },
  "bnn-cnn": CNN_HINTS,
  "bwn-cnn": CNN_HINTS,
  "xnor-cnn": CNN_HINTS,
};

interface Builder {
  about: string;
  /** Default batch size (the reference runs': 100 for the MLP, 64 for the CNNs). */
  batchSize: number;
  /** Default precision of the first weight layer when `first` is unset. Default 'float'. */
  first?: LayerPrecision;
  build(b: Stack, o: Record<string, unknown>): void;
}

/** Collects a chain of layer definitions and decides each weight layer's role (first, hidden, last). */
class Stack {
  readonly layers: LayerDefinition[] = [];
  private weightLayers = 0;

  constructor(
    readonly o: Required<Pick<CommonOptions, "float" | "first" | "last" | "padValue">> & CommonOptions,
    readonly totalWeightLayers: number,
    readonly scaling: Scaling,
    /** False for BWN: binary weights, real activations. */
    readonly binaryActivations: boolean,
  ) {}

  push(layer: LayerDefinition): void {
    this.layers.push(layer);
  }

  /** Quantizer hooks of the next weight layer, from its position (first, hidden, last). */
  private hooks(): QuantHooks {
    const i = this.weightLayers++;
    if (this.o.float) return {};
    const role: LayerPrecision =
      i === 0 ? this.o.first : i === this.totalWeightLayers - 1 ? this.o.last : "binary";
    const act = this.o.activationQuantizer ?? "ste_sign";
    const w = this.o.weightQuantizer ?? "ste_sign";
    // Hidden activations are binary; only the first layer may see the real image.
    const binaryInput = this.binaryActivations && (i > 0 || role === "binary");
    const binaryKernel = role !== "float";
    return {
      inputQuantizer: binaryInput ? act : null,
      kernelQuantizer: binaryKernel ? w : null,
      scaling: binaryKernel ? this.scaling : "none",
    };
  }

  dense(units: number): void {
    this.push(layers.quantDense({ units, ...this.hooks() }));
  }

  conv(filters: number): void {
    const padding = this.o.padding ?? "valid";
    this.push(
      layers.quantConv2d({ filters, kernelSize: 3, padding, padValue: this.o.padValue, ...this.hooks() }),
    );
  }

  bn(o: BatchNormOptions = {}): void {
    this.push(layers.batchNorm(o));
  }

  /** The float twin's nonlinearity where the binary net binarizes (the next layer's input). */
  floatActivation(): void {
    if (this.o.float) this.push(layers.relu());
  }
}

const CNN_BN: BatchNormOptions = { scale: false };
/** PyTorch BatchNorm1d defaults (momentum 0.1 there, 0.9 in Keras' convention), as the reference MLP. */
const MLP_BN: BatchNormOptions = { momentum: 0.9, eps: 1e-5 };

/** Larq's MNIST tutorial CNN: conv32 -> pool -> BN -> bconv64 -> pool -> BN -> bconv64 -> BN -> bdense64 -> BN -> dense10 -> BN. */
function larqCnn(b: Stack, o: CnnOptions, binaryActivations: boolean): void {
  const m = o.widthMultiplier ?? 1;
  b.conv(32 * m);
  b.push(layers.maxPool({ size: 2 }));
  b.bn(CNN_BN);
  if (!binaryActivations) b.push(layers.relu());
  else b.floatActivation();
  b.conv(64 * m);
  b.push(layers.maxPool({ size: 2 }));
  b.bn(CNN_BN);
  if (!binaryActivations) b.push(layers.relu());
  else b.floatActivation();
  b.conv(64 * m);
  b.bn(CNN_BN);
  b.push(layers.flatten());
  if (!binaryActivations) b.push(layers.relu());
  else b.floatActivation();
  b.dense(64 * m);
  b.bn(CNN_BN);
  if (!binaryActivations) b.push(layers.relu());
  else b.floatActivation();
  b.dense(b.o.classes ?? 10);
  b.bn(CNN_BN);
}

/**
 * The 2016-era chain builders by name (`bnn-mlp`, `bnn-cnn`, `xnor-cnn`, `bwn-cnn`): each turns
 * its options into a model spec.
 */
export const builders: Record<string, Builder> = {
  "bnn-mlp": {
    first: "bwn",
    batchSize: 100,
    about:
      "Hubara et al. MNIST MLP: 784 -> 3 x (dense N, BN, sign) -> dense 10; binary weights but the last layer's, the first on the real image; N = width (paper 4096)",
    build(b, raw) {
      const o = raw as MlpOptions;
      b.push(layers.flatten());
      const depth = o.depth ?? 3;
      for (let i = 0; i < depth; i++) {
        if (i > 0) b.floatActivation();
        b.dense(o.width ?? 1024);
        b.bn(MLP_BN);
        if (o.dropout) b.push(layers.dropout({ rate: o.dropout }));
      }
      b.floatActivation();
      b.dense(o.classes ?? 10);
      b.bn(MLP_BN);
    },
  },
  "bnn-cnn": {
    batchSize: 64,
    about:
      "binary VGG-style CNN (Larq MNIST tutorial): conv32-pool-bconv64-pool-bconv64-bdense64-dense10, BN after each",
    build: (b, o) => larqCnn(b, o as CnnOptions, true),
  },
  "xnor-cnn": {
    batchSize: 64,
    about: "XNOR-Net scaling (alpha and K) and block order BN -> binarize -> binary conv -> pool",
    build(b, raw) {
      const o = raw as CnnOptions;
      const m = o.widthMultiplier ?? 1;
      b.conv(32 * m);
      b.push(layers.maxPool({ size: 2 }));
      b.bn(CNN_BN);
      b.floatActivation();
      b.conv(64 * m);
      b.push(layers.maxPool({ size: 2 }));
      b.bn(CNN_BN);
      b.floatActivation();
      b.conv(64 * m);
      b.push(layers.flatten());
      b.bn(CNN_BN);
      b.floatActivation();
      b.dense(64 * m);
      b.bn(CNN_BN);
      b.floatActivation();
      b.dense(o.classes ?? 10);
      b.bn(CNN_BN);
    },
  },
  "bwn-cnn": {
    batchSize: 64,
    about: "binary weights only (BWN): the bnn-cnn topology with real activations (ReLU)",
    build: (b, o) => larqCnn(b, o as CnnOptions, false),
  },
};

const WEIGHT_LAYERS: Record<string, (o: Record<string, unknown>) => number> = {
  "bnn-mlp": (o) => ((o.depth as number | undefined) ?? 3) + 1,
  "bnn-cnn": () => 5,
  "xnor-cnn": () => 5,
  "bwn-cnn": () => 5,
};

/**
 * The model spec a builder config describes (checked: unknown builders and bad options
 * are refused with the builder named).
 */
export function builderSpec(config: ModelConfig | BuilderConfig): ModelSpec {
  const c = plainObject("model", "model", config);
  const name = c.builder;
  if (typeof name !== "string" || !builderNames().includes(name)) {
    throw new OptionsError(
      "model",
      "builder",
      `unknown model ${typeof name === "string" ? `'${name}'` : showValue(name)}; choose one of: ${builderNames().join(", ")}`,
    );
  }
  rejectUnknownKeys(name, c, ["builder", "options"]);
  const raw = plainObject(name, "options", c.options ?? {});
  if (Object.hasOwn(residualBuilders, name)) {
    return residualBuilders[name]!.spec({ builder: name, options: raw });
  }
  const builder = builders[name]!;
  checkOptions(name, raw);
  const o = raw as CommonOptions;
  const settings = {
    ...o,
    float: o.float ?? false,
    ...precisions(builder, o),
    padValue: o.padValue ?? 0,
  };
  const scaling = scalingOf(name, o as XnorCnnOptions);
  const weightLayers = WEIGHT_LAYERS[name]!(raw);
  const stack = new Stack(settings, weightLayers, scaling, name !== "bwn-cnn");
  builder.build(stack, raw);
  return sequential({
    inputShape: settings.inputShape ?? [28, 28, 1],
    layers: stack.layers,
    name,
  });
}

/** Refuses unknown keys and bad values of a classic builder's options, naming the builder and the option. */
function checkOptions(name: string, o: Record<string, unknown>): void {
  if (name !== "xnor-cnn" && o.scaling !== undefined) {
    throw new OptionsError(name, "scaling", `the scaling option is for xnor-cnn only`);
  }
  rejectUnknownKeys(name, o, BUILDER_KEYS[name]!, HINTS[name]);
  const cnn = name !== "bnn-mlp";
  const shape = o.inputShape;
  if (
    shape !== undefined &&
    !(
      Array.isArray(shape) &&
      (cnn ? shape.length === 3 : shape.length >= 1 && shape.length <= 3) &&
      shape.every((d) => Number.isSafeInteger(d) && d >= 1)
    )
  ) {
    throw new OptionsError(
      name,
      "inputShape",
      `inputShape must be ${cnn ? "[height, width, channels]" : "a list of 1 to 3"} positive integers, got ${showValue(shape)}`,
    );
  }
  positiveInteger(name, "classes", o.classes);
  booleanOption(name, "float", o.float);
  for (const key of ["first", "last"] as const) {
    if (o[key] !== undefined && !["float", "bwn", "binary"].includes(o[key] as string)) {
      throw new OptionsError(
        name,
        key,
        `${key} must be 'float', 'bwn' or 'binary', got ${showValue(o[key])}`,
      );
    }
  }
  oneOf(name, "padValue", o.padValue, [-1, 0, 1]);
  if (o.padding !== undefined && o.padding !== "valid" && o.padding !== "same") {
    throw new OptionsError(name, "padding", `padding must be 'valid' or 'same', got '${String(o.padding)}'`);
  }
  for (const key of ["activationQuantizer", "weightQuantizer"]) {
    if (o[key] !== undefined && (typeof o[key] !== "string" || o[key] === "")) {
      throw new OptionsError(
        name,
        key,
        `${key} must be a quantizer name such as "ste_sign", got ${showValue(o[key])}`,
      );
    }
  }
  if (name === "bnn-mlp") {
    positiveInteger(name, "width", o.width);
    integerIn(name, "depth", o.depth, 1, 1000);
    numberIn(name, "dropout", o.dropout, 0, 1, { hi: true });
  } else {
    const m = o.widthMultiplier;
    if (m !== undefined && !(typeof m === "number" && m > 0 && Number.isSafeInteger(32 * m))) {
      throw new OptionsError(
        name,
        "widthMultiplier",
        `widthMultiplier must be a positive number with 32 x widthMultiplier whole (the filter count), got ${showValue(m)}`,
      );
    }
  }
}

/**
 * The config with the builder's default `first` and `last` written in, so a checkpoint says
 * which layers were binary even if a later version changes a default. Unknown builders pass
 * through (buildModel reports them).
 */
export function resolveModelConfig(config: ModelConfig): ModelConfig {
  const builder = Object.hasOwn(builders, config.builder) ? builders[config.builder] : undefined;
  if (!builder || !isObject(config.options) || config.options.float === true) return config;
  return {
    builder: config.builder,
    options: { ...config.options, ...precisions(builder, config.options as CommonOptions) },
  };
}

/** The first and last layers' precision: the options', else the builder's defaults. */
function precisions(builder: Builder, o: CommonOptions): { first: LayerPrecision; last: LayerPrecision } {
  return { first: o.first ?? builder.first ?? "float", last: o.last ?? "float" };
}

/** The binary layers' scaling: xnor-cnn's option (default 'xnor'), 'none' for the others. */
function scalingOf(builder: string, o: XnorCnnOptions): Scaling {
  if (builder !== "xnor-cnn") return "none";
  const scaling = o.scaling ?? "xnor";
  if (scaling !== "xnor" && scaling !== "xnor-weights") {
    throw new OptionsError(
      builder,
      "scaling",
      `scaling must be 'xnor' or 'xnor-weights', got '${String(scaling)}'`,
    );
  }
  return scaling;
}

/**
 * A builder as `listBuilders()` describes it: its name, a one-line description and its default
 * batch size.
 */
export interface BuilderInfo {
  name: string;
  about: string;
  batchSize: number;
}

/** The builders `buildModel` knows, with a one-line description each. */
export function listBuilders(): BuilderInfo[] {
  return [...Object.entries(builders), ...Object.entries(residualBuilders)].map(([name, b]) => ({
    name,
    about: b.about,
    batchSize: b.batchSize,
  }));
}

/** Every builder name. */
export function builderNames(): string[] {
  return [...Object.keys(builders), ...Object.keys(residualBuilders)];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
