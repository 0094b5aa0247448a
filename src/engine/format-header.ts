/**
 * The `.onebit` JSON header: its schema (what the reader accepts, field by field) and the
 * mapping between in-memory tensors and the section table. In the header a layer looks like
 * its EngineModel counterpart with every tensor replaced by its section index.
 */
import { ModelFormatError } from "./format-error.js";
import {
  array,
  finite,
  int,
  isPlainObject,
  jsonValue,
  literal,
  object,
  optional,
  type Parser,
  pair,
  type SchemaContext,
  SchemaError,
  str,
} from "./format-schema.js";
import {
  type BitTensor,
  type DType,
  type EngineModel,
  type F32Tensor,
  GRAPH_KINDS,
  type I32Tensor,
  type JsonValue,
  type Layer,
  type Padding,
  type Pads,
  type Tensor,
} from "./model.js";
import { MODEL_LIMITS } from "./model-check.js";

/** One entry of the section table: a tensor's dtype, logical shape and bytes in the file. */
export interface SectionEntry {
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
}

export const HEADER_LIMITS = {
  maxSections: 1 << 16,
} as const;

const dims = array(int(1, MODEL_LIMITS.maxDim), 1, MODEL_LIMITS.maxRank);

export const sectionSchema = object({
  dtype: literal<DType>("f32", "i32", "bits"),
  shape: dims,
  offset: int(0, Number.MAX_SAFE_INTEGER),
  byteLength: int(1, Number.MAX_SAFE_INTEGER),
});

/** Reads a section-index field as the decoded tensor of the expected dtype. */
type TensorRef = {
  (dtype: "f32"): Parser<F32Tensor>;
  (dtype: "i32"): Parser<I32Tensor>;
  (dtype: "bits"): Parser<BitTensor>;
};

function tensorRefs(
  sections: readonly SectionEntry[],
  tensors: readonly Tensor[],
  used: boolean[],
): TensorRef {
  return ((dtype: DType): Parser<Tensor> =>
    (v, path, ctx) => {
      const index = int(0, sections.length - 1)(v, path, ctx);
      const tensor = tensors[index]!;
      if (tensor.dtype !== dtype)
        throw new SchemaError(path, `expected a ${dtype} section, section ${index} is ${tensor.dtype}`);
      used[index] = true;
      return tensor;
    }) as TensorRef;
}

/** Dispatches on the string field `kind`. */
function tagged<T>(variants: Record<string, Parser<T>>): Parser<T> {
  return (v, path, ctx) => {
    const kind = isPlainObject(v) ? v["kind"] : undefined;
    if (typeof kind !== "string" || !Object.hasOwn(variants, kind)) {
      const known = Object.keys(variants).join(", ");
      throw new SchemaError(
        `${path}.kind`,
        `expected one of ${known}, got ${JSON.stringify(kind)?.slice(0, 40)}`,
      );
    }
    return variants[kind]!(v, path, ctx);
  };
}

/** The layer parser of a format major version: 2 adds `inputs` and the graph kinds. */
function layerSchema(tensor: TensorRef, major: number): Parser<Layer> {
  const spec = object({ layout: literal("bits", "float"), shape: dims });
  const name = str(MODEL_LIMITS.maxNameLength, 1);
  const graph = major >= 2;
  const base = {
    name,
    ...(graph ? { inputs: optional(array(name, 1, 1024)) } : {}),
    in: spec,
    out: spec,
  };
  const strides = pair(int(1, 1 << 16));
  const named = literal("valid", "same");
  const pads = array(int(0, 1 << 16), 4, 4);
  // 2.0 adds explicit pads [top, left, bottom, right] beside the two named rules.
  const padding: Parser<Padding> = graph
    ? (v, path, ctx) => (Array.isArray(v) ? (pads(v, path, ctx) as Pads) : named(v, path, ctx))
    : named;
  const output = tagged<Extract<Layer, { kind: "binary_dense" }>["output"]>({
    threshold: object({ kind: literal("threshold"), thresholds: tensor("i32"), flip: tensor("bits") }),
    affine: object({ kind: literal("affine"), scale: tensor("f32"), bias: tensor("f32") }),
  });
  const quantization = optional(
    object({
      inputQuantizer: optional(str(64)),
      kernelQuantizer: optional(str(64)),
      scaling: optional(str(64)),
    }),
  );
  const floats = array(finite(), 1, 1 << 16);
  const pool = { poolSize: pair(int(1, 1 << 16)), strides, padding };
  const variants: { [K in Layer["kind"]]: Parser<Extract<Layer, { kind: K }>> } = {
    input: object({ kind: literal("input"), ...base, scale: floats, offset: floats }),
    float_conv2d: object({
      kind: literal("float_conv2d"),
      ...base,
      weights: tensor("f32"),
      bias: optional(tensor("f32")),
      strides,
      padding,
      padValue: finite(),
    }),
    float_dense: object({
      kind: literal("float_dense"),
      ...base,
      weights: tensor("f32"),
      bias: optional(tensor("f32")),
    }),
    bwn_conv2d: object({
      kind: literal("bwn_conv2d"),
      ...base,
      weights: tensor("bits"),
      alpha: tensor("f32"),
      bias: optional(tensor("f32")),
      strides,
      padding,
      padValue: finite(),
    }),
    bwn_dense: object({
      kind: literal("bwn_dense"),
      ...base,
      weights: tensor("bits"),
      alpha: tensor("f32"),
      bias: optional(tensor("f32")),
    }),
    bitpack: object({
      kind: literal("bitpack"),
      ...base,
      ...(graph ? { thresholds: optional(tensor("f32")) } : {}),
    }),
    unpack: object({ kind: literal("unpack"), ...base }),
    binary_conv2d: object({
      kind: literal("binary_conv2d"),
      ...base,
      weights: tensor("bits"),
      strides,
      padding,
      padValue: literal(-1, 0, 1),
      output,
      quantization,
    }),
    binary_dense: object({
      kind: literal("binary_dense"),
      ...base,
      weights: tensor("bits"),
      output,
      quantization,
    }),
    maxpool: object({ kind: literal("maxpool"), ...base, ...pool, flip: optional(tensor("bits")) }),
    avgpool: object({ kind: literal("avgpool"), ...base, ...pool }),
    batchnorm: object({
      kind: literal("batchnorm"),
      ...base,
      mean: tensor("f32"),
      invStd: tensor("f32"),
      gamma: tensor("f32"),
      beta: tensor("f32"),
    }),
    flatten: object({ kind: literal("flatten"), ...base }),
    relu: object({ kind: literal("relu"), ...base }),
    softmax: object({ kind: literal("softmax"), ...base }),
    add: object({ kind: literal("add"), ...base }),
    concat: object({ kind: literal("concat"), ...base }),
    globalavgpool: object({ kind: literal("globalavgpool"), ...base }),
    prelu: object({ kind: literal("prelu"), ...base, alpha: tensor("f32") }),
    shift: object({ kind: literal("shift"), ...base, bias: tensor("f32") }),
    depthwise_conv2d: object({
      kind: literal("depthwise_conv2d"),
      ...base,
      weights: tensor("f32"),
      bias: optional(tensor("f32")),
      strides,
      padding,
    }),
  };
  const allowed = Object.fromEntries(
    Object.entries(variants).filter(([kind]) => graph || !GRAPH_KINDS.includes(kind as Layer["kind"])),
  );
  return tagged<Layer>(allowed as Record<string, Parser<Layer>>);
}

/**
 * Parses the header's model part (everything but `sections`, already decoded into
 * `tensors`). Schema faults inside a layer name that layer; every section must be used.
 */
export function parseHeaderModel(
  raw: Record<string, unknown>,
  sections: readonly SectionEntry[],
  tensors: readonly Tensor[],
  ctx: SchemaContext,
  file: string | undefined,
  major = 2,
): EngineModel {
  const used = sections.map(() => false);
  const layer = layerSchema(tensorRefs(sections, tensors, used), major);
  const layers: Parser<Layer[]> = (v, path) => {
    if (!Array.isArray(v)) throw new SchemaError(path, "expected an array of layers");
    if (v.length < 1 || v.length > MODEL_LIMITS.maxLayers) {
      throw new SchemaError(path, `expected 1..${MODEL_LIMITS.maxLayers} layers, got ${v.length}`);
    }
    return v.map((item, index) => {
      try {
        return layer(item, "", ctx);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        const name = isPlainObject(item) && typeof item["name"] === "string" ? item["name"] : undefined;
        const kind = isPlainObject(item) && typeof item["kind"] === "string" ? item["kind"] : undefined;
        const where = e.path.replace(/^\./, "");
        throw new ModelFormatError(`${where ? `${where}: ` : ""}${e.detail}`, file, { index, name, kind });
      }
    });
  };
  const header = object({
    name: str(MODEL_LIMITS.maxNameLength),
    classNames: array(str(MODEL_LIMITS.maxNameLength), 1, MODEL_LIMITS.maxClasses),
    layers,
    sections: (v) => v,
    metadata: (v, path, c) => {
      if (!isPlainObject(v)) throw new SchemaError(path, "expected an object");
      return jsonValue(MODEL_LIMITS.maxMetadataDepth)(v, path, c) as { [key: string]: JsonValue };
    },
  });
  try {
    const { name, classNames, layers: parsed, metadata } = header(raw, "header", ctx);
    const unused = used.indexOf(false);
    if (unused >= 0) {
      const s = sections[unused]!;
      throw new ModelFormatError(
        `section ${unused} (${s.dtype} [${s.shape.join(",")}]) is not used by any layer`,
        file,
      );
    }
    return { name, classNames, layers: parsed, metadata };
  } catch (e) {
    if (e instanceof SchemaError) throw new ModelFormatError(e.message, file);
    throw e;
  }
}

function isTensor(v: unknown): v is Tensor {
  return isPlainObject(v) && typeof v["dtype"] === "string" && ArrayBuffer.isView(v["data"]);
}

/** Every tensor of the model, in header order (first occurrence), each once. */
export function collectTensors(model: EngineModel): Tensor[] {
  const seen = new Set<Tensor>();
  const walk = (v: unknown): void => {
    if (isTensor(v)) seen.add(v);
    else if (isPlainObject(v)) for (const x of Object.values(v)) walk(x);
  };
  for (const layer of model.layers) walk(layer);
  return [...seen];
}

/** The header JSON text with each tensor replaced by its index in `tensors`. */
export function headerJson(
  model: EngineModel,
  tensors: readonly Tensor[],
  sections: readonly SectionEntry[],
): string {
  const index = new Map(tensors.map((t, i) => [t, i]));
  const header = {
    name: model.name,
    classNames: model.classNames,
    layers: model.layers,
    sections,
    metadata: model.metadata,
  };
  return JSON.stringify(header, (_key, value) => (isTensor(value) ? index.get(value) : value));
}
