import { describe, expect, it } from "vitest";
import { copyAugmented, drawAugment } from "../../src/data/augment.js";
import { BatchIterator, type BatchOptions } from "../../src/data/batches.js";
import { BYTE_TO_SIGNED, type Dataset, IDENTITY } from "../../src/data/dataset.js";
import { Random } from "../../src/util/random.js";

/** count images of h x w x c; pixel value = (item * 17 + position) % 256, label = item % 10. */
function toyData(count: number, h = 4, w = 5, c = 1): Dataset {
  const size = h * w * c;
  return {
    name: "toy",
    images: Uint8Array.from(
      { length: count * size },
      (_, i) => (Math.floor(i / size) * 17 + (i % size)) % 256,
    ),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: h,
    width: w,
    channels: c,
    classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  };
}

/** Runs `epochs` epochs, returning every batch (x and y copies). */
function collect(it: BatchIterator, epochs: number): { x: number[]; y: number[] }[] {
  const x = new Float32Array(it.batchSize * it.inputSize);
  const y = new Int32Array(it.batchSize);
  const out: { x: number[]; y: number[] }[] = [];
  for (let e = 0; e < epochs; e++) {
    for (const n of it.epochBatches(x, y)) {
      out.push({ x: Array.from(x.subarray(0, n * it.inputSize)), y: Array.from(y.subarray(0, n)) });
    }
  }
  return out;
}

/** The item a batch row came from (un-augmented): recovers it from the first pixel. */
function itemOf(x: ArrayLike<number>, row: number, size: number, count: number): number {
  const raw = Math.round((x[row * size]! + 1) * 127.5);
  for (let i = 0; i < count; i++) if ((i * 17) % 256 === raw) return i;
  throw new Error(`no item has first pixel ${raw}`);
}

const opts = (o: Partial<BatchOptions> = {}): BatchOptions => ({
  batchSize: 4,
  preprocessing: BYTE_TO_SIGNED,
  seed: 7,
  ...o,
});

describe("BatchIterator", () => {
  it("visits every item once per epoch, normalized, with a new order each epoch", () => {
    const data = toyData(10);
    const it = new BatchIterator(data, opts());
    expect(it.batchesPerEpoch).toBe(3);
    const batches = collect(it, 2);
    expect(batches.map((b) => b.y.length)).toEqual([4, 4, 2, 4, 4, 2]);
    const orders = [0, 3].map((first) =>
      batches.slice(first, first + 3).flatMap((b) => b.y.map((_, r) => itemOf(b.x, r, 20, 10))),
    );
    for (const order of orders)
      expect([...order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(orders[0]).not.toEqual(orders[1]);
    // Values are x / 127.5 - 1 of the item's pixels, labels match the item.
    const b = batches[0]!;
    const item = itemOf(b.x, 1, 20, 10);
    expect(b.y[1]).toBe(item % 10);
    for (let p = 0; p < 20; p++) expect(b.x[20 + p]).toBeCloseTo(data.images[item * 20 + p]! / 127.5 - 1, 6);
  });

  it("same seed, same batches; another seed, another order", () => {
    const a = collect(new BatchIterator(toyData(10), opts()), 3);
    const b = collect(new BatchIterator(toyData(10), opts()), 3);
    const c = collect(new BatchIterator(toyData(10), opts({ seed: 8 })), 3);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("dropLast skips the partial batch; shuffle=false keeps file order", () => {
    const dropped = new BatchIterator(toyData(10), opts({ dropLast: true }));
    expect(dropped.batchesPerEpoch).toBe(2);
    expect(collect(dropped, 1).map((b) => b.y.length)).toEqual([4, 4]);
    const ordered = collect(new BatchIterator(toyData(10), opts({ shuffle: false })), 1);
    expect(ordered.flatMap((b) => b.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("a restored state continues exactly like the uninterrupted run (with augmentation)", () => {
    const o = opts({ augment: { shift: 1, flip: true }, batchSize: 3 });
    const data = toyData(11);
    const whole = collect(new BatchIterator(data, o), 3);

    const first = new BatchIterator(data, o);
    const x = new Float32Array(3 * first.inputSize);
    const y = new Int32Array(3);
    const seen: { x: number[]; y: number[] }[] = [];
    first.beginEpoch();
    for (let n = first.next(x, y); n > 0; n = first.next(x, y))
      seen.push({ x: Array.from(x.subarray(0, n * 20)), y: Array.from(y.subarray(0, n)) });
    first.beginEpoch();
    first.next(x, y);
    seen.push({ x: Array.from(x), y: Array.from(y) });
    const saved = JSON.parse(JSON.stringify(first.state));
    expect(saved.epoch).toBe(2);
    expect(saved.cursor).toBe(3);

    const resumed = new BatchIterator(data, o).setState(saved);
    for (let n = resumed.next(x, y); n > 0; n = resumed.next(x, y))
      seen.push({ x: Array.from(x.subarray(0, n * 20)), y: Array.from(y.subarray(0, n)) });
    seen.push(...collect(resumed, 1));
    expect(seen).toEqual(whole);
  });

  it("checks buffers and call order", () => {
    const it = new BatchIterator(toyData(10), opts());
    expect(() => it.next(new Float32Array(80), new Int32Array(4))).toThrow(
      "toy: call beginEpoch() before next()",
    );
    it.beginEpoch();
    expect(() => it.next(new Float32Array(79), new Int32Array(4))).toThrow(
      "toy: batch buffers too small: x holds 79 (need 4 x 20), y holds 4 (need 4)",
    );
    expect(() => new BatchIterator(toyData(10), opts({ augment: { shift: 5 } }))).toThrow(
      "augmentation shift must be an integer in [0, 5), got 5",
    );
  });
});

describe("augmentation", () => {
  // 3x3 single-channel image 1..9, identity preprocessing, fill -1.
  const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const shape = { height: 3, width: 3, channels: 1 };
  const apply = (dy: number, dx: number, flip: boolean): number[] => {
    const out = new Float32Array(9);
    copyAugmented(img, 0, out, 0, shape, IDENTITY, { dy, dx, flip }, -1);
    return Array.from(out);
  };

  it("shifts by (dy, dx) filling with the background, then flips", () => {
    expect(apply(0, 0, false)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(apply(1, 0, false)).toEqual([-1, -1, -1, 1, 2, 3, 4, 5, 6]);
    expect(apply(0, -1, false)).toEqual([2, 3, -1, 5, 6, -1, 8, 9, -1]);
    expect(apply(-1, 2, false)).toEqual([-1, -1, 4, -1, -1, 7, -1, -1, -1]);
    expect(apply(0, 0, true)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    expect(apply(0, 1, true)).toEqual([2, 1, -1, 5, 4, -1, 8, 7, -1]);
  });

  it("keeps channels together when flipping (NHWC)", () => {
    const rgb = Float32Array.from([10, 11, 12, 20, 21, 22]); // 1x2 pixels, 3 channels
    const out = new Float32Array(6);
    copyAugmented(
      rgb,
      0,
      out,
      0,
      { height: 1, width: 2, channels: 3 },
      IDENTITY,
      { dy: 0, dx: 0, flip: true },
      0,
    );
    expect(Array.from(out)).toEqual([20, 21, 22, 10, 11, 12]);
  });

  it("draws every shift in [-n, n] and both flips, reproducibly", () => {
    const draws = (seed: number) => {
      const rng = new Random(seed);
      return Array.from({ length: 400 }, () => drawAugment({ shift: 2, flip: true }, rng));
    };
    const a = draws(3);
    expect(draws(3)).toEqual(a);
    expect(new Set(a.map((d) => d.dy))).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(new Set(a.map((d) => d.dx))).toEqual(new Set([-2, -1, 0, 1, 2]));
    const flips = a.filter((d) => d.flip).length;
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
  });

  it("in batches: keeps shapes, fills with the normalized background, is seeded", () => {
    const data = toyData(6, 4, 5, 3);
    const o = opts({ augment: { shift: 2, flip: true }, batchSize: 6, shuffle: false });
    const [plain] = collect(new BatchIterator(data, opts({ batchSize: 6, shuffle: false })), 1);
    const [aug] = collect(new BatchIterator(data, o), 1);
    const [again] = collect(new BatchIterator(data, o), 1);
    expect(aug!.x.length).toBe(6 * 60);
    expect(aug).toEqual(again);
    expect(aug!.y).toEqual(plain!.y);
    expect(aug!.x).not.toEqual(plain!.x);
    // Each augmented image is one of the 50 shift/flip variants of its source, fill -1.
    const size = 60;
    for (let i = 0; i < 6; i++) {
      const got = aug!.x.slice(i * size, (i + 1) * size);
      const src = Float32Array.from(plain!.x.slice(i * size, (i + 1) * size));
      let match = false;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          for (const flip of [false, true]) {
            const out = new Float32Array(size);
            copyAugmented(src, 0, out, 0, data, IDENTITY, { dy, dx, flip }, -1);
            if (Array.from(out).every((v, k) => v === got[k])) match = true;
          }
        }
      }
      expect(match, `image ${i}`).toBe(true);
    }
  });
});
