import { describe, expect, it } from "vitest";
import {
  binaryDot,
  packFlags,
  packSigns,
  popcount32,
  signBit,
  tailBitsClear,
  unpackSigns,
  wordMask,
  wordsPerPixel,
} from "../../src/kernels/bits.js";
import { Random } from "../../src/util/random.js";

function naivePopcount(v: number): number {
  let n = 0;
  for (let b = 0; b < 32; b++) n += (v >>> b) & 1;
  return n;
}

describe("bit contract", () => {
  it("maps x >= 0 (including 0 and -0) to bit 1 and x < 0 and NaN to bit 0", () => {
    expect([0, -0, 1e-30, Infinity, -1e-30, -Infinity, Number.NaN].map(signBit)).toEqual([
      1, 1, 1, 1, 0, 0, 0,
    ]);
    expect(Array.from(packSigns(Float32Array.of(0.5, -1, 0), 1, 3))).toEqual([0b101]);
  });

  it("uses ceil(c / 32) words per pixel", () => {
    expect([0, 1, 31, 32, 33, 64, 65, 130].map(wordsPerPixel)).toEqual([0, 1, 1, 1, 2, 2, 3, 5]);
    expect(wordMask(33, 0)).toBe(0xffffffff);
    expect(wordMask(33, 1)).toBe(1);
    expect(wordMask(64, 1)).toBe(0xffffffff);
  });

  it("counts bits like a bit-by-bit loop", () => {
    const rng = new Random(1);
    for (const v of [0, 1, 0x80000000, 0xffffffff, 0x55555555]) expect(popcount32(v)).toBe(naivePopcount(v));
    for (let i = 0; i < 1000; i++) {
      const v = rng.nextUint32();
      expect(popcount32(v)).toBe(naivePopcount(v));
    }
  });

  it("round-trips packing for 1..130 channels with the tail bits 0", () => {
    const rng = new Random(2);
    const rows = 3;
    for (let c = 1; c <= 130; c++) {
      const x = Float32Array.from({ length: rows * c }, () => rng.uniform(-1, 1));
      const bits = packSigns(x, rows, c);
      expect(bits.length).toBe(rows * wordsPerPixel(c));
      expect(tailBitsClear(bits, rows, c)).toBe(true);
      expect(Array.from(unpackSigns(bits, rows, c))).toEqual(Array.from(x, (v) => (v >= 0 ? 1 : -1)));
      expect(
        packFlags(
          Array.from(x, (v) => v >= 0),
          rows,
          c,
        ),
      ).toEqual(bits);
    }
  });

  it("detects tail bits that are set", () => {
    expect(tailBitsClear(Uint32Array.of(0b11), 1, 1)).toBe(false);
    expect(tailBitsClear(Uint32Array.of(0b1), 1, 1)).toBe(true);
  });

  it("computes dot(a, b) = K - 2 popcount(a XOR b) equal to the +/-1 dot", () => {
    const rng = new Random(3);
    for (const k of [1, 7, 31, 32, 33, 64, 100, 130]) {
      const a = Float32Array.from({ length: k }, () => rng.uniform(-1, 1));
      const b = Float32Array.from({ length: k }, () => rng.uniform(-1, 1));
      let want = 0;
      for (let i = 0; i < k; i++) want += (a[i]! >= 0 ? 1 : -1) * (b[i]! >= 0 ? 1 : -1);
      expect(binaryDot(packSigns(a, 1, k), 0, packSigns(b, 1, k), 0, wordsPerPixel(k), k)).toBe(want);
    }
  });
});
