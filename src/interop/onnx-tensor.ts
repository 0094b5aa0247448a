/**
 * ONNX TensorProto <-> constant arrays. The importer computes on constants in float64
 * arrays tagged with their ONNX element kind; float results are rounded to float32 as a
 * runtime would. Shape tensors may hold the symbolic batch size as NaN (see Const).
 */
import { DataType, OnnxError, type OnnxTensor } from "./onnx-proto.js";

export type ElemKind = "float" | "double" | "int" | "bool";

/** A constant tensor: row-major values, exact for float32/float64, int32/int64 below 2^53 and bool. */
export interface Const {
  kind: ElemKind;
  shape: number[];
  /** Values; in shape tensors, NaN stands for the (dynamic) batch size. */
  data: Float64Array;
}

const MAX_ELEMENTS = 1 << 28;
const SUPPORTED_TYPES = new Set<number>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT64,
  DataType.INT32,
  DataType.INT8,
  DataType.UINT8,
  DataType.BOOL,
]);

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads an initializer or a Constant's `value`; `where` names it in errors. */
export function readTensor(t: OnnxTensor, where: string): Const {
  const shape = (t.dims ?? []).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new OnnxError(`${where}: bad dimensions [${shape}]`);
  const n = sizeOf(shape);
  if (n > MAX_ELEMENTS) throw new OnnxError(`${where}: ${n} elements exceed the limit of ${MAX_ELEMENTS}`);
  if (t.dataLocation === 1)
    throw new OnnxError(`${where}: external data (weights in a separate file) is not supported`);
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  if (!SUPPORTED_TYPES.has(type)) {
    throw new OnnxError(`${where}: tensor data type ${type} is not supported (float, double, int, bool are)`);
  }
  let data = new Float64Array(0);
  // The stored values are counted before anything is allocated: dims alone may claim 2^28.
  const read = (bytes: number, get: (offset: number) => number, list: ArrayLike<number> | undefined) => {
    if (view) {
      if (view.byteLength !== n * bytes)
        throw new OnnxError(`${where}: raw_data has ${view.byteLength} bytes, [${shape}] needs ${n * bytes}`);
      data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = get(i * bytes);
      return;
    }
    const values = list ?? [];
    if (values.length !== n)
      throw new OnnxError(`${where}: ${values.length} values stored, [${shape}] needs ${n}`);
    data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = Number(values[i]);
  };
  switch (type) {
    case DataType.FLOAT:
      read(4, (o) => view!.getFloat32(o, true), t.floatData);
      return { kind: "float", shape, data };
    case DataType.DOUBLE:
      read(8, (o) => view!.getFloat64(o, true), t.doubleData);
      return { kind: "double", shape, data };
    case DataType.INT64:
      read(8, (o) => Number(view!.getBigInt64(o, true)), t.int64Data);
      return { kind: "int", shape, data };
    case DataType.INT32:
      read(4, (o) => view!.getInt32(o, true), t.int32Data);
      return { kind: "int", shape, data };
    case DataType.INT8:
      read(1, (o) => view!.getInt8(o), t.int32Data);
      return { kind: "int", shape, data };
    case DataType.UINT8:
      read(1, (o) => view!.getUint8(o), t.int32Data);
      return { kind: "int", shape, data };
    case DataType.BOOL:
      read(1, (o) => (view!.getUint8(o) ? 1 : 0), t.int32Data);
      return { kind: "bool", shape, data };
    default:
      throw new OnnxError(
        `${where}: tensor data type ${type} is not supported (float, double, int, bool are)`,
      );
  }
}

/** A float32 initializer (raw little-endian data). */
export function floatTensor(name: string, shape: number[], data: ArrayLike<number>): OnnxTensor {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  return { name, dims: shape, dataType: DataType.FLOAT, rawData: bytes };
}

/** A float64 initializer (raw little-endian data). */
export function doubleTensor(name: string, shape: number[], data: ArrayLike<number>): OnnxTensor {
  const bytes = new Uint8Array(data.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat64(8 * i, data[i]!, true);
  return { name, dims: shape, dataType: DataType.DOUBLE, rawData: bytes };
}

/** An int64 initializer (for shapes, pads and axes). */
export function int64Tensor(name: string, values: number[]): OnnxTensor {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(8 * i, BigInt(values[i]!), true);
  return { name, dims: [values.length], dataType: DataType.INT64, rawData: bytes };
}
