/**
 * In-memory data sets as plain typed arrays (no tensors): images NHWC, one label per image.
 * The trainer copies batches out of them (see batches.ts).
 */
import { DataError } from "./errors.js";

/** One split (train or test) of a data set. */
export interface Dataset {
  /** Data set and split, e.g. "mnist/train"; names the data in errors. */
  name: string;
  /** NHWC pixels, `count * height * width * channels` values: raw bytes or floats. */
  images: Uint8Array | Float32Array;
  /** Class index per image, in [0, classes.length). */
  labels: Uint8Array | Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Class names, index = label. */
  classes: string[];
}

/**
 * The affine map from stored pixels to network inputs, `x' = x * scale + offset`. It is
 * data so that the exporter can store it in a model file and the engine can apply the same
 * map at inference time.
 */
export interface Preprocessing {
  scale: number;
  offset: number;
}

/** Train and test splits of one data set, with the preprocessing the model expects. */
export interface DataSplits {
  name: string;
  train: Dataset;
  test: Dataset;
  classes: string[];
  preprocessing: Preprocessing;
}

/**
 * Bytes 0..255 to [-1, 1]: `x / 127.5 - 1`, as the PyTorch peers in bench/peers do for MNIST
 * and Fashion-MNIST. The default for every byte-valued data set here (CIFAR-10 included).
 */
export const BYTE_TO_SIGNED: Readonly<Preprocessing> = Object.freeze({ scale: 1 / 127.5, offset: -1 });

/** The identity map, for data sets that are stored already as network-ready floats. */
export const IDENTITY: Readonly<Preprocessing> = Object.freeze({ scale: 1, offset: 0 });

/** Values per image: `height * width * channels`. */
export function imageSize(d: Pick<Dataset, "height" | "width" | "channels">): number {
  return d.height * d.width * d.channels;
}

/**
 * Applies `x * scale + offset` to `src`, into `out` (allocated when omitted).
 *
 *     normalize(new Uint8Array([0, 255]), BYTE_TO_SIGNED); // Float32Array [-1, 1]
 */
export function normalize(
  src: ArrayLike<number>,
  { scale, offset }: Preprocessing,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  if (out.length < src.length)
    throw new Error(`normalize: output holds ${out.length} values, need ${src.length}`);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * scale + offset;
  return out;
}

/**
 * Checks a split's internal consistency: array lengths match the declared shape, every
 * label lies in [0, classes.length), and float images hold no NaN or Inf.
 * Throws a DataError naming the data set and the first bad item.
 */
export function validateDataset(d: Dataset): void {
  const dims = [d.count, d.height, d.width, d.channels];
  if (dims.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new DataError(d.name, `bad shape [${dims.join(", ")}] (count, height, width, channels)`);
  }
  const size = imageSize(d);
  if (d.images.length !== d.count * size) {
    throw new DataError(
      d.name,
      `images hold ${d.images.length} values, expected ${d.count} x ${d.height}x${d.width}x${d.channels} = ${d.count * size}`,
    );
  }
  if (d.labels.length !== d.count) {
    throw new DataError(d.name, `${d.count} images but ${d.labels.length} labels`);
  }
  if (d.classes.length === 0) throw new DataError(d.name, "no class names");
  for (let i = 0; i < d.count; i++) {
    const y = d.labels[i]!;
    if (y < 0 || y >= d.classes.length) {
      throw new DataError(d.name, `label ${y} of item ${i} is outside [0, ${d.classes.length})`);
    }
  }
  if (d.images instanceof Float32Array) {
    for (let i = 0; i < d.images.length; i++) {
      if (!Number.isFinite(d.images[i]!)) {
        throw new DataError(
          d.name,
          `image ${Math.floor(i / size)} holds ${d.images[i]} at value ${i % size}`,
        );
      }
    }
  }
}

/** The first `n` items of a split (a copy), or the split itself when n is undefined or >= count. */
export function limitDataset(d: Dataset, n: number | undefined): Dataset {
  if (n === undefined || n >= d.count) return d;
  if (!Number.isInteger(n) || n < 0) throw new Error(`limit must be a non-negative integer, got ${n}`);
  return { ...d, count: n, images: d.images.slice(0, n * imageSize(d)), labels: d.labels.slice(0, n) };
}
