/**
 * onebit: train binary neural networks and run them packed.
 *
 *     import { createContext, loadDataset, train, convertCheckpoint, writeModelFile, Engine } from "onebit";
 *
 * The training wing (tensors, ops, quantizers, layers, trainer, data), the converter and
 * the engine. A browser imports `onebit/engine` alone.
 *
 * Every error onebit throws on purpose is an `OnebitError`: `OptionsError`, `DisposedError`,
 * `ModelFormatError`, `CheckpointError`, `ModelSpecError`, `DataError`,
 * `TrainingDivergedError` (and `interop.OnnxError`), each carrying the option, file or layer
 * it concerns.
 */
export * from "./data/index.js";
export * as engine from "./engine/index.js";
export {
  decodeModel,
  Engine,
  type EngineModel,
  EngineWorker,
  encodeModel,
  ModelFormatError,
  softmax,
} from "./engine/index.js";
// The error family (each also exported by its own module): OnebitError and its subclasses.
export {
  DisposedError,
  InputRangeError,
  MissingDependencyError,
  OnebitError,
  OptionsError,
} from "./errors.js";
export {
  checkpointDataset,
  convertCheckpoint,
  type DatasetChoice,
  exportCheckpoint,
  loadTrainedModel,
  type TrainedModel,
} from "./export/checkpoint.js";
export { type ConvertOptions, convertModel } from "./export/convert.js";
export { readModelFile, writeModelFile } from "./export/io.js";
export { formatVerifyReport, type VerifyReport, verifyEngine } from "./export/verify.js";
/** ONNX import and export (needs the optional peer dependency protobufjs). */
export * as interop from "./interop/index.js";
export { type Backend, type BackendKind, createBackend, Heap } from "./kernels/index.js";
export * from "./nn/index.js";
export * from "./ops/index.js";
export * from "./quant/index.js";
export * from "./tensor/index.js";
export * from "./train/index.js";
export { Random } from "./util/random.js";
