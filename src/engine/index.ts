/**
 * `onebit/engine`: the inference runtime and the `.onebit` format, without any training
 * code (what a browser bundle imports).
 *
 *     import { Engine } from "onebit/engine";
 *     const engine = await Engine.load(await (await fetch("mnist.onebit")).arrayBuffer());
 *     engine.predict(pixels).classes[0];
 *
 * Its errors derive from OnebitError: ModelFormatError (a bad file or model), OptionsError
 * (a bad option) and DisposedError (the engine used after dispose()).
 *
 * `EngineWorker` is the same engine in a worker thread, behind promises (worker-client.ts):
 *
 *     const worker = await EngineWorker.load(bytes);
 *     (await worker.predict(pixels)).classes[0];
 */
export { DisposedError, OnebitError, OptionsError } from "../errors.js";
export { decodeModel, encodeModel, FORMAT_VERSION, ModelFormatError } from "./format.js";
export type * from "./model.js";
export { activationMemory } from "./model.js";
export { checkModel } from "./model-check.js";
export { argmaxRows, Engine, type EngineOptions, type LayerTrace, type Prediction } from "./runtime.js";
export { EngineWorker, type EngineWorkerOptions, type WorkerPredictOptions } from "./worker-client.js";
