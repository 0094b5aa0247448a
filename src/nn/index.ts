/**
 * Layers, model builders and checkpoints of trainable models.
 */
export {
  type BuilderInfo,
  builders,
  buildModel,
  type CnnOptions,
  type LayerPrecision,
  listBuilders,
  type MlpOptions,
  resolveModelConfig,
} from "./builders.js";
export {
  type Checkpoint,
  type LayerRecord,
  loadCheckpoint,
  loadIntoModel,
  type ModelConfig,
  type NamedTensor,
  saveCheckpoint,
} from "./checkpoint.js";
export { decodeCheckpoint, encodeCheckpoint } from "./checkpointFormat.js";
export type { ForwardMode, Layer, LayerParam } from "./layer.js";
export { Activation, BatchNorm, Dropout, Flatten, MaxPool } from "./layers.js";
export { Model } from "./model.js";
export {
  QuantConv2D,
  type QuantConv2DOptions,
  QuantDense,
  type QuantDenseOptions,
  type Scaling,
} from "./quantLayers.js";
