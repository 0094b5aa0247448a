/**
 * ONNX -> engine model: `importOnnx(bytes, options)` decodes the file, recognizes the
 * binarization forms (import-patterns), converts the chain of ops into engine layers
 * (import-convert) and checks the result (checkModel). Images are NCHW in the file and
 * NHWC in the engine; the engine's input layer maps raw values 0..255 linearly onto
 * `inputRange`: x = fround(fround(raw * (hi - lo) / 255) + lo).
 *
 *     const { model, warnings } = importOnnx(await readFile("bnn.onnx"), { inputRange: [-1, 1] });
 *     await writeModelFile("bnn.onebit", model);
 */

import { ModelFormatError } from "../engine/format-error.js";
import type { EngineModel, JsonValue } from "../engine/model.js";
import { checkModel } from "../engine/model-check.js";
import { Walker } from "./import-convert.js";
import { Emitter } from "./import-emit.js";
import { readGraph } from "./import-graph.js";
import { graphForms } from "./import-graph-forms.js";
import { type Activation, engineShape, NCHW } from "./import-layout.js";
import { recognizeBinarizers } from "./import-patterns.js";
import { decodeOnnx, OnnxError } from "./onnx-proto.js";
import type { BinarizeProbe } from "./verify-onnx.js";

/** Options of `importOnnx`: names, the input shape and range, class names, metadata. */
export interface ImportOptions {
  /** Labels errors and the model name. */
  file?: string;
  /** Model name stored in the file; default: the file's base name. */
  name?: string;
  /** The engine input shape with a leading batch dimension, NHWC ([N, h, w, c]) or [N, n]; fills dynamic dims. */
  inputShape?: number[];
  /** The range raw 0..255 maps onto; default [0, 1] (PyTorch's ToTensor). */
  inputRange?: [number, number];
  /** Class names; default "0", "1", ... */
  classNames?: string[];
  metadata?: { [key: string]: JsonValue };
}

/** Where the ONNX input's dims sit in the engine's NHWC input, for feeding onnxruntime the same images. */
export interface OnnxInputLayout {
  name: string;
  /** ONNX dims without the batch. */
  dims: number[];
  /** Engine axis (0 = h, 1 = w, 2 = c) of each ONNX dim; [0] for vectors. */
  axes: number[];
  scale: number;
  offset: number;
}

/**
 * What `importOnnx` returns: the engine model, where its input dims sit in the ONNX input, and
 * notes on edge cases.
 */
export interface ImportResult {
  model: EngineModel;
  input: OnnxInputLayout;
  /** Things that differ from the ONNX graph only in edge cases (e.g. sign(0)). */
  warnings: string[];
  binarizers: number;
  /** Where the engine binarizes float values, for verifyOnnx's diagnosis. */
  probes: BinarizeProbe[];
}

/** Converts an ONNX model; throws OnnxError (naming the file and node) when it cannot be converted exactly. */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportResult {
  const file = options.file ?? "model.onnx";
  const onnx = decodeOnnx(bytes, file);
  const graph = readGraph(onnx, file);
  const binarizers = recognizeBinarizers(graph);

  const act = inputActivation(graph.input.name, graph.input.dims, graph.nodes, options.inputShape, file);
  const [lo, hi] = options.inputRange ?? [0, 1];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
    throw new OnnxError(`--input-range must be two finite numbers LO < HI, got ${lo}, ${hi}`);
  const scale = (hi - lo) / 255;
  const emitter = new Emitter({ layout: "float", shape: engineShape(act) });
  emitter.push({ kind: "input", name: "input", scale: [scale], offset: [lo] });
  const walker = new Walker(graph, emitter, act);
  const end = walker.run();
  graphForms(emitter.layers);
  const classes = end.dims[0]!;
  const classNames = options.classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (classNames.length !== classes)
    throw new OnnxError(
      `${file}: the model has ${classes} outputs, ${classNames.length} class names were given`,
    );
  const base = file.replace(/^.*[\\/]/, "").replace(/\.onnx$/i, "");
  const model: EngineModel = {
    name: options.name ?? base,
    classNames,
    layers: emitter.layers,
    metadata: {
      source: "onnx",
      onnxFile: base,
      producer: graph.producer,
      opset: graph.opset,
      inputRange: [lo, hi],
      ...(options.metadata ?? {}),
    },
  };
  try {
    checkModel(model);
  } catch (e) {
    // What the graph computes is not a valid engine model (e.g. non-finite weights).
    if (e instanceof ModelFormatError)
      throw new OnnxError(`${file}: the converted model is invalid: ${e.message}`);
    throw e;
  }
  return {
    model,
    input: { name: graph.input.name, dims: act.dims, axes: act.axes, scale, offset: lo },
    warnings: walker.warnings,
    binarizers,
    probes: walker.probes,
  };
}

/**
 * The input activation: NCHW for a 4-D input, unless its consumer is a Transpose to NCHW
 * (a Keras/tf2onnx NHWC graph); [n] for a 2-D input. Dynamic dims come from `inputShape`.
 */
function inputActivation(
  name: string,
  dims: (number | undefined)[],
  nodes: { op: string; inputs: string[]; ints(n: string): number[] | undefined }[],
  inputShape: number[] | undefined,
  file: string,
): Activation {
  const rank = dims.length || inputShape?.length || 0;
  if (rank !== 4 && rank !== 2) {
    throw new OnnxError(
      `${file}: input '${name}' has rank ${rank}; onebit imports image inputs [N, C, H, W] and vector inputs [N, n]`,
    );
  }
  const first = nodes.find((n) => n.inputs.includes(name));
  const nhwc = rank === 4 && first?.op === "Transpose" && first.ints("perm")?.join() === "0,3,1,2";
  const axes = rank === 2 ? [0] : nhwc ? [0, 1, 2] : NCHW;
  const given = inputShape?.slice(1);
  if (inputShape && inputShape.length !== rank)
    throw new OnnxError(
      `${file}: --input-shape [${inputShape}] has rank ${inputShape.length}, the input has ${rank}`,
    );
  const out = axes.map((axis, i) => {
    const known = dims[i + 1];
    const g = given?.[axis];
    if (known !== undefined && g !== undefined && known !== g) {
      throw new OnnxError(
        `${file}: --input-shape [${inputShape}] disagrees with the input's dims [${dims.map((d) => d ?? "?")}]`,
      );
    }
    const d = known ?? g;
    if (d === undefined)
      throw new OnnxError(`${file}: input dim ${i + 1} of '${name}' is dynamic; pass --input-shape N,H,W,C`);
    return d;
  });
  return { name, dims: out, axes };
}
