/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): files
 * `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`, each a run of 3073-byte
 * records `<label byte> <1024 red> <1024 green> <1024 blue>` (CHW, rows top to bottom),
 * and `batches.meta.txt` with one class name per line. Images are converted to NHWC.
 */
import fs from "node:fs";
import path from "node:path";
import { BYTE_TO_SIGNED, type DataSplits, type Dataset, validateDataset } from "./dataset.js";
import { DataError } from "./errors.js";

/** The ten CIFAR-10 class names, in label order. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
]);

const SIDE = 32;
const CHANNELS = 3;
const PLANE = SIDE * SIDE;
/** Bytes per record: 1 label + 3 x 32 x 32 pixels. */
export const CIFAR10_RECORD_BYTES = 1 + CHANNELS * PLANE;

/** The five training batch files of CIFAR-10 (binary version). */
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze(
  [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
);
/** The test batch file of CIFAR-10 (binary version). */
export const CIFAR10_TEST_FILE = "test_batch.bin";

/**
 * Decodes the records of one or more batch files into a split (NHWC bytes).
 * `files` are (name, bytes) pairs; names appear in errors.
 */
export function parseCifar10(
  files: readonly { file: string; bytes: Uint8Array }[],
  name: string,
  classes: readonly string[] = CIFAR10_CLASSES,
): Dataset {
  let count = 0;
  for (const { file, bytes } of files) {
    if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      throw new DataError(
        file,
        `size ${bytes.length} is not a positive multiple of the CIFAR-10 record size ${CIFAR10_RECORD_BYTES} ` +
          `(1 label byte + 3x32x32 pixels): truncated, or not a CIFAR-10 binary batch`,
      );
    }
    count += bytes.length / CIFAR10_RECORD_BYTES;
  }
  const images = new Uint8Array(count * PLANE * CHANNELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const { file, bytes } of files) {
    for (let r = 0; r * CIFAR10_RECORD_BYTES < bytes.length; r++, n++) {
      const at = r * CIFAR10_RECORD_BYTES;
      const label = bytes[at]!;
      if (label >= classes.length) {
        throw new DataError(file, `record ${r} has label ${label}, outside [0, ${classes.length})`);
      }
      labels[n] = label;
      const out = n * PLANE * CHANNELS;
      for (let c = 0; c < CHANNELS; c++) {
        const plane = at + 1 + c * PLANE;
        for (let p = 0; p < PLANE; p++) images[out + p * CHANNELS + c] = bytes[plane + p]!;
      }
    }
  }
  const split: Dataset = {
    name,
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: CHANNELS,
    classes: [...classes],
  };
  validateDataset(split);
  return split;
}

/** Class names from `batches.meta.txt` (one per non-empty line); must name 10 classes. */
export function parseCifar10Meta(text: string, file: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== CIFAR10_CLASSES.length) {
    throw new DataError(
      file,
      `expected ${CIFAR10_CLASSES.length} class names, one per line, found ${names.length}`,
    );
  }
  return names;
}

/**
 * Loads CIFAR-10 from `dir` (or its `cifar-10-batches-bin` subfolder, as the archive unpacks).
 * All five training batches and the test batch must be present.
 */
export function loadCifar10(dir: string): DataSplits {
  const nested = path.join(dir, "cifar-10-batches-bin");
  if (!fs.existsSync(path.join(dir, CIFAR10_TEST_FILE)) && fs.existsSync(nested)) dir = nested;
  const read = (f: string): { file: string; bytes: Uint8Array } => {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) {
      throw new DataError(
        file,
        "missing. CIFAR-10 needs data_batch_1.bin .. data_batch_5.bin and test_batch.bin: download the " +
          "binary version from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it, and pass --data-dir <folder>",
      );
    }
    try {
      return { file, bytes: fs.readFileSync(file) };
    } catch (e) {
      // Node's own message (EISDIR, EACCES, ...) does not always name the file.
      throw new DataError(file, `cannot read: ${(e as Error).message}`);
    }
  };
  const metaFile = path.join(dir, "batches.meta.txt");
  const classes = fs.existsSync(metaFile)
    ? parseCifar10Meta(fs.readFileSync(metaFile, "utf8"), metaFile)
    : [...CIFAR10_CLASSES];
  const train = parseCifar10(CIFAR10_TRAIN_FILES.map(read), "cifar10/train", classes);
  const test = parseCifar10([read(CIFAR10_TEST_FILE)], "cifar10/test", classes);
  return { name: "cifar10", train, test, classes, preprocessing: { ...BYTE_TO_SIGNED } };
}
