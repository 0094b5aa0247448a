/**
 * Version 1.x files still load and give identical scores: the repository's 1.x model files
 * (the fuzz seeds and the demo's model) against scores the engine computed before format
 * 2.0 existed (test/fixtures/v1/scores.json, written by the engine of the release that read
 * 1.x only), on 8 deterministic images each. Written again, they stay 1.1 files.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import { Engine } from "../../src/engine/runtime.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const golden = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/v1/scores.json"), "utf8")) as Record<
  string,
  { scores: number[]; classes: number[] }
>;

describe("format 1.x files", () => {
  for (const [file, expected] of Object.entries(golden)) {
    it(`${file}: reads, is written again as 1.1, and scores as before`, async () => {
      const bytes = new Uint8Array(readFileSync(path.join(ROOT, file)));
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(1);
      const again = encodeModel(decodeModel(bytes));
      expect([again[8], again[9], again[10], again[11]]).toEqual([1, 0, 1, 0]);
      expect(decodeModel(again)).toEqual(decodeModel(bytes));
      const engine = await Engine.load(bytes);
      const size = engine.inputShape.reduce((a, b) => a * b, 1);
      const images = new Uint8Array(8 * size);
      for (let i = 0; i < images.length; i++) images[i] = (i * 37 + Math.floor(i / size) * 101) % 256;
      const p = engine.predict(images);
      expect(Array.from(p.scores)).toEqual(expected.scores);
      expect(Array.from(p.classes)).toEqual(expected.classes);
      engine.dispose();
    });
  }
});
