/**
 * What `Engine.predict` takes and gives beyond the kernels: the input-range check (pixels
 * scaled to 0..1 given to a model expecting 0..255 are an InputRangeError, not wrong classes)
 * and `softmax` over its raw scores.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readIdx } from "../../src/data/idx.js";
import { mnistDataDir } from "../../src/data/mnist.js";
import { checkInputRange, Engine, expectsPixels255, softmax } from "../../src/engine/index.js";
import type { InputLayer } from "../../src/engine/model.js";
import { reviveError, serializeError } from "../../src/engine/worker-protocol.js";
import { InputRangeError, OnebitError, OptionsError } from "../../src/errors.js";

const MODEL = path.resolve(__dirname, "../../web/public/models/mnist-bnn-cnn.onebit");
const inputLayer = (scale: number[]): InputLayer => ({
  kind: "input",
  name: "input",
  in: { layout: "float", shape: [2, 2, 1] },
  out: { layout: "float", shape: [2, 2, 1] },
  scale,
  offset: scale.map(() => -1),
});

describe("Engine.predict input range", () => {
  let bytes: Uint8Array;
  let pixels: Uint8Array;
  beforeAll(() => {
    bytes = new Uint8Array(readFileSync(MODEL));
    const all = readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array;
    pixels = all.slice(0, 8 * 784);
  });

  it("refuses pixels scaled to 0..1 for a model that maps 0..255, naming the range", async () => {
    const engine = await Engine.load(bytes);
    const scaled = Float32Array.from(pixels, (v) => v / 255);
    let error: unknown;
    try {
      engine.predict(scaled);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputRangeError);
    expect(error).toBeInstanceOf(OnebitError);
    const e = error as InputRangeError;
    expect([e.min, e.max, e.expected]).toEqual([0, 1, [0, 255]]);
    expect(e.message).toMatch(
      /^Engine\.predict: every input value lies in \[0, 1\].*raw pixels 0\.\.255.*255/,
    );
    // The same values as raw floats (0..255) and as bytes give the same classes.
    const raw = engine.predict(pixels);
    expect(Array.from(engine.predict(Float32Array.from(pixels)).classes)).toEqual(Array.from(raw.classes));
    // A 0/1 mask (no fraction) is not taken for scaled pixels.
    expect(engine.predict(Float32Array.from(pixels, (v) => (v > 127 ? 1 : 0))).batch).toBe(8);
    engine.dispose();
  });

  it("checkInputRange: false runs the scaled pixels (and shows why the check exists)", async () => {
    const engine = await Engine.load(bytes, { checkInputRange: false });
    const raw = engine.predict(pixels);
    const scaled = engine.predict(Float32Array.from(pixels, (v) => v / 255));
    const same = Array.from(raw.classes).filter((c, i) => c === scaled.classes[i]).length;
    expect(same).toBeLessThan(8); // wrong classes for at least one image, silently
    engine.dispose();
    await expect(Engine.load(bytes, { checkInputRange: "no" as unknown as boolean })).rejects.toThrow(
      OptionsError,
    );
  });

  it("applies only to models whose input transform maps 0..255 (every |scale| <= 1/64)", () => {
    expect(expectsPixels255(inputLayer([1 / 127.5]))).toBe(true);
    expect(expectsPixels255(inputLayer([1 / 255, 1 / 255, 1 / 255]))).toBe(true);
    expect(expectsPixels255(inputLayer([1]))).toBe(false);
    expect(expectsPixels255(inputLayer([1 / 255, 2]))).toBe(false);
    const scaled = Float32Array.of(0, 0.5, 0.25, 1);
    expect(() => checkInputRange(scaled, inputLayer([1 / 255]))).toThrow(InputRangeError);
    expect(() => checkInputRange(scaled, inputLayer([1]))).not.toThrow();
    expect(() => checkInputRange(Uint8Array.of(0, 1, 0, 1), inputLayer([1 / 255]))).not.toThrow();
    expect(() => checkInputRange([0, 0.5, 2, 1], inputLayer([1 / 255]))).not.toThrow();
    expect(() => checkInputRange([-0.5, 0.5, 0.2, 1], inputLayer([1 / 255]))).not.toThrow();
  });

  it("crosses from an EngineWorker as the same class with its fields", () => {
    const revived = reviveError(serializeError(new InputRangeError("Engine.predict", 0, 1, [0, 255])));
    expect(revived).toBeInstanceOf(InputRangeError);
    expect((revived as InputRangeError).max).toBe(1);
  });
});

describe("softmax", () => {
  it("turns each row of scores into probabilities, in float64 before rounding", () => {
    const scores = Float32Array.of(1, 2, 3, 0, 0, 0);
    const p = softmax(scores, 3);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(Array.from(p.subarray(0, 3))).toEqual(
      [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z].map(Math.fround),
    );
    expect(Array.from(p.subarray(3))).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    expect(Array.from(softmax([1, 2, 3]))).toEqual(Array.from(p.subarray(0, 3)));
  });

  it("does not overflow on large scores; temperature flattens", () => {
    const p = softmax([1000, 1000 - Math.log(3)], 2);
    expect(p[0]).toBeCloseTo(0.75, 6);
    expect(p[1]).toBeCloseTo(0.25, 6);
    const hot = softmax([0, Math.log(3)], 2, 2);
    expect(hot[1]! / hot[0]!).toBeCloseTo(Math.sqrt(3), 5);
  });

  it("matches the engine's argmax and sums to 1 per image", async () => {
    const engine = await Engine.load(new Uint8Array(readFileSync(MODEL)));
    const all = readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array;
    const { scores, classes, numClasses, batch } = engine.predict(all.subarray(0, 4 * 784));
    const p = softmax(scores, numClasses);
    for (let i = 0; i < batch; i++) {
      const row = Array.from(p.subarray(i * numClasses, (i + 1) * numClasses));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.indexOf(Math.max(...row))).toBe(classes[i]);
    }
    engine.dispose();
  });

  it("refuses a class count that does not divide the scores", () => {
    expect(() => softmax([1, 2, 3], 2)).toThrow(OptionsError);
    expect(() => softmax([1, 2], 0)).toThrow(/numClasses must be a positive integer/);
    expect(() => softmax([1, 2], 2, 0)).toThrow(/temperature/);
  });
});
