/** The page's MNIST-style downscaling (web/digit.ts) and IDX reader (web/idx.ts), in Node. */
import { describe, expect, it } from "vitest";
import { inkBox, SIZE, toMnistDigit } from "../../web/digit.js";
import { parseIdxU8 } from "../../web/idx.js";

function canvas(w: number, h: number, draw: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = draw(x, y);
  return out;
}

function centerOfMass(img: Uint8Array): [number, number] {
  let m = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const v = img[y * SIZE + x]!;
      m += v;
      cx += v * (x + 0.5);
      cy += v * (y + 0.5);
    }
  return [cx / m, cy / m];
}

describe("toMnistDigit", () => {
  it("returns null for a blank pad", () => {
    expect(toMnistDigit(new Uint8Array(280 * 280), 280, 280)).toBeNull();
  });

  it("scales the ink box's longer side to 20 pixels, keeps the aspect ratio, centers the mass", () => {
    // A 40 x 200 bar in the top-left corner of a 280 x 280 pad -> 4 x 20.
    const ink = canvas(280, 280, (x, y) => (x >= 10 && x < 50 && y >= 5 && y < 205 ? 255 : 0));
    const img = toMnistDigit(ink, 280, 280)!;
    expect(inkBox(img, SIZE, SIZE)).toEqual({ x0: 12, y0: 4, w: 4, h: 20 });
    expect(Array.from(new Set(img))).toEqual([0, 255]);
    expect(centerOfMass(img)).toEqual([14, 14]);
  });

  it("anti-aliases by area: a box 1.5 output pixels wide gets a half-covered column", () => {
    // 30 x 200 -> 3 x 20 cells of 10 x 10; the ink covers 15 source columns = 1.5 cells.
    const ink = canvas(100, 200, (x) => (x < 15 ? 255 : 0));
    ink[199 * 100 + 29] = 255; // widens the ink box to 30 columns with one pixel
    const img = toMnistDigit(ink, 100, 200)!;
    const row = Array.from(img.subarray(5 * SIZE, 6 * SIZE)).filter((v) => v > 0);
    expect(row).toEqual([255, 128]);
  });

  it("rejects a size mismatch", () => {
    expect(() => toMnistDigit(new Uint8Array(10), 4, 4)).toThrow("toMnistDigit: 10 values is not 4x4");
  });
});

describe("parseIdxU8", () => {
  it("reads dims and data, and names the file in errors", () => {
    const bytes = Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    const idx = parseIdxU8(bytes, "x.idx");
    expect(idx.dims).toEqual([2, 3]);
    expect(Array.from(idx.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parseIdxU8(bytes.subarray(0, 17), "x.idx")).toThrow(
      "x.idx: dims [2,3] need 18 bytes, the file has 17",
    );
    expect(() => parseIdxU8(Uint8Array.from([0, 0, 13, 1]), "f.idx")).toThrow("f.idx: IDX dtype 0xd");
  });
});
