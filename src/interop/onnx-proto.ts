/**
 * ONNX ModelProto bytes <-> plain objects, with protobufjs and the schema subset of
 * onnx-schema.ts. Field names are ONNX's in camelCase (op_type -> opType); int64 fields
 * are numbers (exact below 2^53, which every dimension and attribute onebit reads is).
 *
 *     const model = decodeOnnx(await readFile("mnist.onnx"), "mnist.onnx");
 *     model.graph.node[0].opType; // "Conv"
 *     const bytes = encodeOnnx(model);
 *
 * protobufjs is an optional peer dependency, loaded on the first call: without it, these
 * throw a MissingDependencyError ("install protobufjs to read and write ONNX files").
 */
import type protobuf from "protobufjs";
import { OnebitError } from "../errors.js";
import { requireOptional } from "../util/optional.js";
import { ONNX_PROTO } from "./onnx-schema.js";

/** A malformed or unsupported ONNX file; the message names the file and the fault. */
export class OnnxError extends OnebitError {
  override readonly name = "OnnxError";
}

export interface OnnxTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  uint64Data?: number[];
  rawData?: Uint8Array;
  dataLocation?: number;
}

export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}

export interface OnnxDim {
  dimValue?: number;
  dimParam?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: OnnxDim[] } } };
}

export interface OnnxGraph {
  name?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
}

/** An ONNX ModelProto as a plain object (the fields onebit reads and writes, camelCase). */
export interface OnnxModel {
  irVersion?: number;
  opsetImport: { domain?: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph: OnnxGraph;
  metadataProps?: { key: string; value: string }[];
}

/** TensorProto.DataType values onebit reads. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values onebit writes. */
export const AttributeType = { FLOAT: 1, INT: 2, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;

function modelProto(): protobuf.Type {
  if (!modelType) {
    const pb = requireOptional<typeof protobuf>("protobufjs", "read and write ONNX files");
    modelType = pb.parse(ONNX_PROTO).root.lookupType("onnx.ModelProto");
  }
  return modelType;
}

/** Decodes ModelProto bytes; throws OnnxError naming `file` when they are not a model. */
export function decodeOnnx(bytes: Uint8Array, file = "model"): OnnxModel {
  const type = modelProto();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new OnnxError(
      `${file}: not a valid ONNX file (protobuf decoding failed: ${(e as Error).message}); is it truncated?`,
    );
  }
  const model = type.toObject(message, { longs: Number, enums: Number, arrays: true }) as OnnxModel;
  if (!model.graph || model.graph.node.length === 0) {
    throw new OnnxError(`${file}: not an ONNX model (no graph, or a graph without nodes)`);
  }
  return model;
}

/** Encodes a model into ModelProto bytes. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = modelProto();
  return type.encode(type.fromObject(model)).finish();
}
