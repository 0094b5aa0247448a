/**
 * What `Engine.load` accepts, checked before any work: the `.onebit` bytes as a Uint8Array,
 * an ArrayBuffer (what `fetch(...).arrayBuffer()` gives) or any other view of them (a Node
 * Buffer), from any realm; or an EngineModel object. And its options, each checked with a
 * message naming it.
 */
import { OptionsError } from "../errors.js";
import { BACKEND_KINDS } from "../kernels/index.js";
import { booleanOption, oneOf, plainObject, positiveInteger, rejectUnknownKeys } from "../util/options.js";

const ENGINE_OPTIONS = ["backend", "wasmUrl", "threads", "maxBatch", "fuse", "checkInputRange"];

const tag = (v: unknown) => Object.prototype.toString.call(v);

/** The bytes of a model given as bytes; undefined for an object (an EngineModel). */
export function modelBytes(source: unknown): Uint8Array | undefined {
  if (source instanceof Uint8Array || tag(source) === "[object Uint8Array]") return source as Uint8Array;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const t = tag(source);
  if (t === "[object ArrayBuffer]" || t === "[object SharedArrayBuffer]") {
    return new Uint8Array(source as ArrayBuffer);
  }
  if (typeof source !== "object" || source === null) {
    const got = source === null ? "null" : typeof source;
    const hint =
      typeof source === "string" ? " (to load a file in Node: readModelFile(path) from 'onebit')" : "";
    throw new OptionsError(
      "Engine.load",
      "source",
      `the model must be the .onebit file's bytes (Uint8Array or ArrayBuffer) or an EngineModel, got ${got}${hint}`,
    );
  }
  return undefined;
}

/** Refuses unknown and bad Engine options, naming them. */
export function checkEngineOptions(options: unknown): void {
  const where = "Engine.load";
  const o = plainObject(where, "options", options);
  rejectUnknownKeys(where, o, ENGINE_OPTIONS);
  oneOf(where, "backend", o.backend, BACKEND_KINDS);
  if (o.wasmUrl !== undefined && typeof o.wasmUrl !== "string" && !(o.wasmUrl instanceof URL)) {
    throw new OptionsError(where, "wasmUrl", "wasmUrl must be a string or a URL");
  }
  positiveInteger(where, "threads", o.threads);
  positiveInteger(where, "maxBatch", o.maxBatch);
  booleanOption(where, "fuse", o.fuse);
  booleanOption(where, "checkInputRange", o.checkInputRange);
}
