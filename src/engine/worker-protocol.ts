/**
 * The messages between an EngineWorker (worker-client.ts) and the engine it hosts in a
 * Web Worker or a Node worker_thread (worker-host.ts). Every request carries an id that
 * its one reply repeats; the host handles requests one at a time, in the order they came.
 * Tensors travel as typed arrays whose buffers are transferred, not copied.
 *
 * An error crosses as its name, message, stack and own data fields, and is rebuilt on the
 * calling side as the same class where it is one the engine raises (RangeError,
 * ModelFormatError, ...), else as an Error that keeps the name.
 */
import { DisposedError, InputRangeError, OptionsError } from "../errors.js";
import { type LayerRef, ModelFormatError } from "./format-error.js";
import type { EngineModel } from "./model.js";
import type { EngineOptions } from "./runtime.js";

/** EngineOptions as they cross to the worker (a URL as its href). */
export type HostEngineOptions = Omit<EngineOptions, "wasmUrl"> & { wasmUrl?: string };

/** What a prediction input becomes on the way: a typed array, or a plain array (cloned). */
export type HostImages = ArrayBufferView | ArrayLike<number>;

export type HostRequest =
  | { id: number; type: "load"; source: Uint8Array | EngineModel; options: HostEngineOptions }
  | { id: number; type: "predict"; images: HostImages };

/** What the caller learns of the hosted engine once it is loaded. */
export interface HostEngineInfo {
  modelName: string;
  classNames: string[];
  inputShape: number[];
  imageSize: number;
  maxBatch: number;
  backend: string;
  threads: number;
  threadNote: string | undefined;
}

export type HostReply =
  | { id: number; type: "loaded"; info: HostEngineInfo }
  | {
      id: number;
      type: "prediction";
      scores: Float32Array;
      classes: Int32Array;
      batch: number;
      numClasses: number;
    }
  | { id: number; type: "error"; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  /** The error's own enumerable fields that survive structured cloning (ModelFormatError's detail, file, layer). */
  fields?: Record<string, unknown>;
}

/** Any thrown value as a SerializedError. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === "name" || key === "message" || key === "stack") continue;
    try {
      structuredClone(value);
      fields[key] = value;
    } catch {
      // Not cloneable (a function, a handle): the name and message still cross.
    }
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** The error rebuilt on this side: the same class where it is a built-in or one of the engine's own. */
export function reviveError(e: SerializedError): Error {
  let error: Error;
  const f = e.fields as Record<string, unknown> | undefined;
  if (e.name === "ModelFormatError" && typeof f?.detail === "string") {
    error = new ModelFormatError(f.detail, f.file as string | undefined, f.layer as LayerRef | undefined);
  } else if (e.name === "OptionsError" && typeof f?.where === "string" && typeof f.option === "string") {
    error = new OptionsError(f.where, f.option, String(f.detail ?? e.message));
  } else if (e.name === "DisposedError" && typeof f?.object === "string" && typeof f.operation === "string") {
    error = new DisposedError(f.object, f.operation);
  } else if (e.name === "InputRangeError" && typeof f?.min === "number" && typeof f.max === "number") {
    const expected = Array.isArray(f.expected) ? (f.expected as [number, number]) : ([0, 255] as const);
    error = new InputRangeError(String(f.operation ?? "Engine.predict"), f.min, f.max, expected);
  } else {
    error = new (BUILTIN[e.name] ?? Error)(e.message);
    if (error.name !== e.name) error.name = e.name;
    for (const [key, value] of Object.entries(e.fields ?? {})) {
      if (!(key in error)) (error as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (e.stack) error.stack = e.stack;
  return error;
}
