/**
 * Layers, model specs, model builders and checkpoints of trainable models.
 */
export { buildModel, isBuilderConfig, type ModelSource, specOf } from "./build.js";
export {
  type BuilderConfig,
  type BuilderInfo,
  type BuilderName,
  builderSpec,
  builders,
  type CnnOptions,
  type CommonOptions,
  type LayerPrecision,
  listBuilders,
  type MlpOptions,
  resolveModelConfig,
  type XnorCnnOptions,
} from "./builders.js";
export { AvgPool, GlobalAvgPool, PReLU, Shift } from "./channelLayers.js";
export {
  type Checkpoint,
  type LayerRecord,
  loadCheckpoint,
  loadIntoModel,
  type ModelConfig,
  type NamedTensor,
  readCheckpoint,
  saveCheckpoint,
  writeCheckpoint,
} from "./checkpoint.js";
export { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "./checkpointFormat.js";
export { DepthwiseConv2D } from "./depthwise.js";
export {
  type BatchNormOptions as BatchNormLayerOptions,
  type Conv2dOptions as Conv2dLayerOptions,
  type DenseOptions,
  type DepthwiseConv2dOptions as DepthwiseConv2dLayerOptions,
  input,
  LayerDefinition,
  layers,
  model,
  type PoolOptions,
  type QuantHooks,
  SymbolicTensor,
  sequential,
} from "./functional.js";
export type { ForwardMode, Layer, LayerParam } from "./layer.js";
export { Activation, BatchNorm, Dropout, Flatten, MaxPool, Pool2D } from "./layers.js";
export { Add, Concatenate } from "./mergeLayers.js";
export { Model } from "./model.js";
export {
  QuantConv2D,
  type QuantConv2DOptions,
  QuantDense,
  type QuantDenseOptions,
  type Scaling,
} from "./quantLayers.js";
export { LAYER_KINDS } from "./registry.js";
export type { ResidualOptions } from "./residualBuilders.js";
export { type InputSpec, type LayerSpec, type ModelSpec, ModelSpecError, resolveSpec } from "./spec.js";
