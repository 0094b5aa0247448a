/**
 * Seeded mini-batches over a data set, written into buffers the caller owns (so a trainer
 * reuses the same two arrays for a whole run). Each epoch draws a fresh permutation; the
 * iterator's state (epoch, position, RNG words) is plain JSON, so a checkpoint can store it
 * and a resumed run produces the same batches as an uninterrupted one.
 *
 *     const it = new BatchIterator(train, { batchSize: 100, seed: 1, preprocessing });
 *     const x = new Float32Array(100 * it.inputSize), y = new Int32Array(100);
 *     for (let e = 0; e < epochs; e++) {
 *       for (const n of it.epochBatches(x, y)) step(x, y, n); // n < 100 only for the last batch
 *     }
 */
import { Random } from "../util/random.js";
import {
  type Augmentation,
  type AugmentDraw,
  checkAugmentation,
  copyAugmented,
  drawAugment,
} from "./augment.js";
import { type Dataset, imageSize, type Preprocessing } from "./dataset.js";

/** How a `BatchIterator` draws batches: size, preprocessing, shuffling, augmentation. */
export interface BatchOptions {
  batchSize: number;
  /** The map from stored pixels to inputs (from `DataSplits.preprocessing`). */
  preprocessing: Preprocessing;
  /** RNG seed for shuffling and augmentation. Default 0. */
  seed?: number;
  /** Visit items in a new random order each epoch. Default true; false keeps file order. */
  shuffle?: boolean;
  /** Skip the last batch of an epoch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** Random shifts / crops / flips, seeded by the same RNG. */
  augment?: Augmentation;
}

/** Where an iterator stands, for checkpoints (JSON-serializable). */
export interface BatchState {
  /** Epochs begun so far. */
  epoch: number;
  /** Items already handed out in the current epoch. */
  cursor: number;
  /** RNG words before this epoch's permutation was drawn (to redraw it on restore). */
  epochRng: number[];
  /** RNG words now. */
  rng: number[];
}

const NO_AUGMENT: AugmentDraw = { dy: 0, dx: 0, flip: false };

// Random.state may hold a signed word (sfc32's xor step); setState wants uint32, so normalize.
const rngWords = (rng: Random): number[] => rng.state.map((w) => w >>> 0);

/**
 * Seeded mini-batches of a data set: shuffled per epoch, preprocessed to float NHWC, optionally
 * augmented; its state can be saved in a checkpoint and restored exactly.
 */
export class BatchIterator {
  readonly batchSize: number;
  private readonly rng: Random;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly preprocessing: Preprocessing;
  private readonly augment: Augmentation | undefined;
  private readonly fill: number;
  private order: Int32Array | undefined;
  private epochRng: number[];
  private epochCount = 0;
  private cursor = 0;

  constructor(
    readonly data: Dataset,
    options: BatchOptions,
  ) {
    const { batchSize, seed = 0, shuffle = true, dropLast = false, preprocessing, augment } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    if (augment) checkAugmentation(augment, data.height, data.width);
    this.batchSize = batchSize;
    this.rng = new Random(seed);
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.preprocessing = { ...preprocessing };
    this.augment = augment && ((augment.shift ?? 0) > 0 || augment.flip) ? { ...augment } : undefined;
    this.fill = augment?.fill ?? preprocessing.offset;
    this.epochRng = rngWords(this.rng);
  }

  /** Values per input image (height * width * channels); x needs batchSize times this. */
  get inputSize(): number {
    return imageSize(this.data);
  }

  /** Batches per epoch, counting a final partial batch unless dropLast. */
  get batchesPerEpoch(): number {
    const n = this.data.count / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Epochs begun so far (1 during the first epoch). */
  get epoch(): number {
    return this.epochCount;
  }

  /** Starts an epoch: draws its order (when shuffling) and rewinds to its first item. */
  beginEpoch(): void {
    this.epochRng = rngWords(this.rng);
    this.order = this.drawOrder();
    this.epochCount++;
    this.cursor = 0;
  }

  /**
   * Writes the next batch into `x` (NHWC floats, normalized and augmented) and `y` (labels);
   * returns the number of items written, 0 when the epoch is over.
   */
  next(x: Float32Array, y: Int32Array): number {
    const order = this.order;
    if (!order) throw new Error(`${this.data.name}: call beginEpoch() before next()`);
    const size = this.inputSize;
    if (x.length < this.batchSize * size || y.length < this.batchSize) {
      throw new Error(
        `${this.data.name}: batch buffers too small: x holds ${x.length} (need ${this.batchSize} x ${size}), ` +
          `y holds ${y.length} (need ${this.batchSize})`,
      );
    }
    const n = Math.min(this.batchSize, this.data.count - this.cursor);
    if (n <= 0 || (this.dropLast && n < this.batchSize)) return 0;
    const { images, labels } = this.data;
    for (let b = 0; b < n; b++) {
      const item = order[this.cursor + b]!;
      const draw = this.augment ? drawAugment(this.augment, this.rng) : NO_AUGMENT;
      copyAugmented(images, item * size, x, b * size, this.data, this.preprocessing, draw, this.fill);
      y[b] = labels[item]!;
    }
    this.cursor += n;
    return n;
  }

  /** Begins an epoch and yields each batch's item count after filling x and y. */
  *epochBatches(x: Float32Array, y: Int32Array): Generator<number, void, void> {
    this.beginEpoch();
    for (let n = this.next(x, y); n > 0; n = this.next(x, y)) yield n;
  }

  /** A snapshot of the position and RNG, for checkpoints. */
  get state(): BatchState {
    return {
      epoch: this.epochCount,
      cursor: this.cursor,
      epochRng: [...this.epochRng],
      rng: rngWords(this.rng),
    };
  }

  /** Continues from a snapshot taken with `state` (on an iterator built with the same data and options). */
  setState(state: BatchState): this {
    const { epoch, cursor } = state;
    if (
      !Number.isInteger(epoch) ||
      epoch < 0 ||
      !Number.isInteger(cursor) ||
      cursor < 0 ||
      cursor > this.data.count
    ) {
      throw new Error(
        `${this.data.name}: bad batch state epoch=${epoch} cursor=${cursor} (items: ${this.data.count})`,
      );
    }
    this.rng.setState(state.epochRng);
    this.order = epoch > 0 ? this.drawOrder() : undefined;
    this.rng.setState(state.rng);
    this.epochRng = [...state.epochRng];
    this.epochCount = epoch;
    this.cursor = cursor;
    return this;
  }

  private drawOrder(): Int32Array {
    if (this.shuffle) return this.rng.permutation(this.data.count);
    const order = new Int32Array(this.data.count);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order;
  }
}
