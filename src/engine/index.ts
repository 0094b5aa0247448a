/**
 * `onebit/engine`: the inference runtime and the `.onebit` format, without any training
 * code (what a browser bundle imports).
 *
 *     import { Engine } from "onebit/engine";
 *     const engine = await Engine.load(await (await fetch("mnist.onebit")).arrayBuffer());
 *     engine.predict(pixels).classes[0];
 *
 * Scores are raw (logits); `softmax(scores, numClasses)` gives probabilities.
 *
 * Its errors derive from OnebitError: ModelFormatError (a bad file or model), OptionsError
 * (a bad option), DisposedError (the engine used after dispose()) and InputRangeError
 * (pixels scaled to 0..1 given to a model that expects 0..255).
 *
 * `EngineWorker` is the same engine in a worker thread, behind promises (worker-client.ts):
 *
 *     const worker = await EngineWorker.load(bytes);
 *     (await worker.predict(pixels)).classes[0];
 */
export { DisposedError, InputRangeError, OnebitError, OptionsError } from "../errors.js";
export { decodeModel, encodeModel, FORMAT_VERSION, ModelFormatError } from "./format.js";
export { checkInputRange, expectsPixels255 } from "./input-range.js";
export type * from "./model.js";
export { activationMemory } from "./model.js";
export { checkModel } from "./model-check.js";
export { argmaxRows, Engine, type EngineOptions, type LayerTrace, type Prediction } from "./runtime.js";
export { softmax } from "./softmax.js";
export { EngineWorker, type EngineWorkerOptions, type WorkerPredictOptions } from "./worker-client.js";
