/**
 * The layer types a model spec may use. Each kind resolves a config against its input
 * shapes (defaults written in, unknown keys and bad values refused, the output shape
 * computed) without building anything, and creates the live layer from a resolved config.
 * A config that is already resolved resolves to itself, so a spec round-trips exactly.
 */
import type { Padding } from "../kernels/geometry.js";
import type { Context } from "../tensor/context.js";
import type { Random } from "../util/random.js";
import { AvgPool, GlobalAvgPool, PReLU, Shift } from "./channelLayers.js";
import { DepthwiseConv2D } from "./depthwise.js";
import type { Layer } from "./layer.js";
import { Activation, BatchNorm, Dropout, Flatten, MaxPool } from "./layers.js";
import { Add, Concatenate } from "./mergeLayers.js";
import { QuantConv2D, type QuantConv2DOptions, QuantDense, type QuantDenseOptions } from "./quantLayers.js";

type Config = Record<string, unknown>;
type Shape = readonly number[];

export interface LayerKind {
  /** How many inputs the layer reads: one, or two and more (add, concatenate). */
  arity: 1 | "many";
  /** The full config and the output shape; throws naming `where` and the shapes. */
  resolve(config: Config, inputs: readonly Shape[], where: string): { config: Config; shape: number[] };
  /** The live layer of a resolved config. */
  create(ctx: Context, config: Config, inputs: readonly Shape[], rng: Random, where: string): Layer;
}

/** Refuses keys a layer type does not know (a typo must not silently fall back to a default). */
function checkKeys(config: Config, known: readonly string[], where: string): void {
  for (const k of Object.keys(config)) {
    if (!known.includes(k)) {
      throw new RangeError(`${where}: unknown option '${k}'; its options are ${known.join(", ") || "none"}`);
    }
  }
}

/** Each named value must be a positive integer. */
export function checkPositive(where: string, values: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isSafeInteger(v) || (v as number) < 1) {
      throw new RangeError(`${where}: ${k} must be a positive integer, got ${String(v)}`);
    }
  }
}

function rank(shape: Shape, n: number, what: string, where: string): void {
  if (shape.length !== n) throw new Error(`${where}: expects ${what}, got [${shape}]`);
}

/** TensorFlow's output size of a window over n positions. */
function windowOut(n: number, size: number, stride: number, padding: Padding): number {
  return padding === "same" ? Math.ceil(n / stride) : Math.floor((n - size) / stride) + 1;
}

function pool(config: Config, input: Shape, where: string, keys: readonly string[]) {
  checkKeys(config, keys, where);
  rank(input, 3, "an input [H, W, C]", where);
  const size = (config.size ?? 2) as number;
  const stride = (config.stride ?? size) as number;
  const padding = (config.padding ?? "valid") as Padding;
  checkPositive(where, { size, stride });
  if (padding !== "valid" && padding !== "same") {
    throw new RangeError(`${where}: padding must be 'valid' or 'same', got '${String(padding)}'`);
  }
  const [h, w, c] = input as [number, number, number];
  const shape = [windowOut(h, size, stride, padding), windowOut(w, size, stride, padding), c];
  if (shape[0]! < 1 || shape[1]! < 1)
    throw new Error(`${where}: a ${size}x${size} window does not fit the input [${input}]`);
  return { config: { size, stride, padding }, shape };
}

const QUANT_KEYS = ["inputQuantizer", "kernelQuantizer", "scaling", "useBias", "kernelClip"];
const BN_KEYS = ["channels", "center", "scale", "momentum", "eps"];

/**
 * Every layer type a model spec may use, by type name, with how its config and output shape
 * resolve and how it is built.
 */
export const LAYER_KINDS: Readonly<Record<string, LayerKind>> = {
  quant_dense: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, ["units", "inFeatures", ...QUANT_KEYS], where);
      const r = QuantDense.resolve(input!, config as unknown as QuantDenseOptions, where);
      return { config: r.config, shape: r.shape };
    },
    create: (ctx, config, [input], rng, where) =>
      new QuantDense(ctx, input!, config as unknown as QuantDenseOptions, rng, where),
  },
  quant_conv2d: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(
        config,
        ["filters", "kernelSize", "inChannels", "stride", "padding", "padValue", ...QUANT_KEYS],
        where,
      );
      const r = QuantConv2D.resolve(input!, config as unknown as QuantConv2DOptions, where);
      return { config: r.config, shape: r.shape };
    },
    create: (ctx, config, [input], rng, where) =>
      new QuantConv2D(ctx, input!, config as unknown as QuantConv2DOptions, rng, where),
  },
  depthwise_conv2d: {
    arity: 1,
    resolve: (config, [input], where) => DepthwiseConv2D.resolve(input!, config, where),
    create: (ctx, config, [input], rng, where) => new DepthwiseConv2D(ctx, input!, config, rng, where),
  },
  batch_norm: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, BN_KEYS, where);
      const c = input![input!.length - 1]!;
      if (config.channels !== undefined && config.channels !== c) {
        throw new Error(
          `${where}: its config says ${String(config.channels)} channels, its input has shape [${input}]`,
        );
      }
      const momentum = (config.momentum ?? 0.99) as number;
      const eps = (config.eps ?? 1e-3) as number;
      if (!(momentum >= 0 && momentum < 1))
        throw new RangeError(`${where}: momentum must be in [0, 1), got ${momentum}`);
      if (!(eps > 0)) throw new RangeError(`${where}: eps must be positive, got ${eps}`);
      const out = {
        channels: c,
        center: (config.center ?? true) as boolean,
        scale: (config.scale ?? true) as boolean,
        momentum,
        eps,
      };
      return { config: out, shape: [...input!] };
    },
    create: (ctx, config, [input]) => new BatchNorm(ctx, input!, config),
  },
  max_pool: {
    arity: 1,
    resolve: (config, [input], where) => pool(config, input!, where, ["size", "stride", "padding"]),
    create: (_ctx, c) => new MaxPool(c.size as number, c.stride as number, c.padding as Padding),
  },
  avg_pool: {
    arity: 1,
    resolve: (config, [input], where) => pool(config, input!, where, ["size", "stride", "padding"]),
    create: (_ctx, c) => new AvgPool(c.size as number, c.stride as number, c.padding as Padding),
  },
  global_avg_pool: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, [], where);
      rank(input!, 3, "an input [H, W, C]", where);
      return { config: {}, shape: [input![2]!] };
    },
    create: () => new GlobalAvgPool(),
  },
  flatten: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, [], where);
      return { config: {}, shape: [input!.reduce((a, b) => a * b, 1)] };
    },
    create: () => new Flatten(),
  },
  dropout: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, ["rate"], where);
      const rate = config.rate as number;
      if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
        throw new RangeError(`${where}: rate must be a number in [0, 1), got ${String(rate)}`);
      }
      return { config: { rate }, shape: [...input!] };
    },
    create: (_ctx, c) => new Dropout(c.rate as number),
  },
  activation: {
    arity: 1,
    resolve(config, [input], where) {
      checkKeys(config, ["fn"], where);
      const fn = config.fn;
      if (fn !== "relu" && fn !== "hardtanh") {
        throw new RangeError(`${where}: fn must be 'relu' or 'hardtanh', got '${String(fn)}'`);
      }
      return { config: { fn }, shape: [...input!] };
    },
    create: (_ctx, c) => new Activation(c.fn as "relu" | "hardtanh"),
  },
  prelu: {
    arity: 1,
    resolve: (config, [input], where) => PReLU.resolve(input!, config, where),
    create: (ctx, config, [input]) => new PReLU(ctx, input!, config),
  },
  shift: {
    arity: 1,
    resolve: (config, [input], where) => Shift.resolve(input!, config, where),
    create: (ctx, config, [input]) => new Shift(ctx, input!, config),
  },
  add: {
    arity: "many",
    resolve(config, inputs, where) {
      checkKeys(config, [], where);
      const first = inputs[0]!;
      inputs.forEach((s, i) => {
        if (s.length !== first.length || s.some((d, j) => d !== first[j])) {
          throw new Error(
            `${where}: input ${i} has shape [${s}], input 0 has [${first}]; add needs equal shapes`,
          );
        }
      });
      return { config: {}, shape: [...first] };
    },
    create: () => new Add(),
  },
  concatenate: {
    arity: "many",
    resolve(config, inputs, where) {
      checkKeys(config, [], where);
      const first = inputs[0]!;
      let channels = 0;
      inputs.forEach((s, i) => {
        const same = s.length === first.length && s.slice(0, -1).every((d, j) => d === first[j]);
        if (!same) {
          throw new Error(
            `${where}: input ${i} has shape [${s}], input 0 has [${first}]; concatenate needs equal shapes but for the channels`,
          );
        }
        channels += s[s.length - 1]!;
      });
      return { config: {}, shape: [...first.slice(0, -1), channels] };
    },
    create: () => new Concatenate(),
  },
};

/** The layer kind of a type; the error lists the known types. */
export function layerKind(type: string, where: string): LayerKind {
  const kind = Object.hasOwn(LAYER_KINDS, type) ? LAYER_KINDS[type] : undefined;
  if (!kind) {
    throw new RangeError(
      `${where}: unknown layer type '${type}'; the types are ${Object.keys(LAYER_KINDS).join(", ")}`,
    );
  }
  return kind;
}
