/**
 * docs/format.md's explicit-pads example (section 9), read as another program would: the
 * file is written by hand from the page (prefix, documented header, section contents the
 * page lists), decoded, and run; the scores are the page's window rule evaluated here by
 * hand. The encoder must write the documented header for the same model.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel, FORMAT_VERSION, MAGIC } from "../../src/engine/format.js";
import type { EngineModel } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";

function documentedHeader() {
  const doc = readFileSync(new URL("../../docs/format.md", import.meta.url), "utf8");
  const example = /<!-- pads-example-header -->\s*```json\n([\s\S]*?)```/.exec(doc);
  if (!example) throw new Error("docs/format.md lost its explicit-pads example header");
  return JSON.parse(example[1]!);
}

// The section contents the page lists: filter 0 all +1, filter 1 +1 where ky + kx is even.
const filters = [
  Array(9).fill(1),
  Array.from({ length: 9 }, (_, t) => ((t / 3) | 0) + (t % 3)).map((s) => (s % 2 ? -1 : 1)),
];
const scale = [1, 0.5];
const bias = [0, -1];

function padsModel(): EngineModel {
  const spec = (layout: "float" | "bits", ...shape: number[]) => ({ layout, shape });
  return {
    name: "pads",
    classNames: ["a", "b"],
    layers: [
      {
        kind: "input",
        name: "input",
        in: spec("float", 4, 4, 1),
        out: spec("float", 4, 4, 1),
        scale: [0.00784313725490196],
        offset: [-1],
      },
      { kind: "bitpack", name: "sign", in: spec("float", 4, 4, 1), out: spec("bits", 4, 4, 1) },
      {
        kind: "binary_conv2d",
        name: "conv",
        in: spec("bits", 4, 4, 1),
        out: spec("float", 2, 2, 2),
        // One word per tap (c = 1): bit 0 set for +1.
        weights: {
          dtype: "bits",
          shape: [2, 3, 3, 1],
          data: Uint32Array.from(filters.flat(), (v) => (v > 0 ? 1 : 0)),
        },
        strides: [2, 2],
        padding: [1, 1, 1, 1],
        padValue: 0,
        output: {
          kind: "affine",
          scale: { dtype: "f32", shape: [2], data: Float32Array.from(scale) },
          bias: { dtype: "f32", shape: [2], data: Float32Array.from(bias) },
        },
      },
      { kind: "globalavgpool", name: "pool", in: spec("float", 2, 2, 2), out: spec("float", 2) },
    ],
    metadata: {},
  };
}

/** The page's formulas for one 4x4 image of raw values. */
function byHand(raw: number[]): number[] {
  const f = Math.fround;
  const sign = raw.map((v) => (f(v * 0.00784313725490196 + -1) >= 0 ? 1 : -1));
  const sums = [0, 0];
  for (let oy = 0; oy < 2; oy++) {
    for (let ox = 0; ox < 2; ox++) {
      for (let o = 0; o < 2; o++) {
        let dot = 0;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const [iy, ix] = [oy * 2 - 1 + ky, ox * 2 - 1 + kx];
            if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4) dot += sign[iy * 4 + ix]! * filters[o]![ky * 3 + kx]!;
          }
        }
        sums[o]! += f(f(dot * scale[o]!) + bias[o]!);
      }
    }
  }
  return sums.map((s) => f(s / 4));
}

describe("docs/format.md explicit-pads example", () => {
  it("the documented header is what the writer writes, as format 2.0", () => {
    const bytes = encodeModel(padsModel());
    const view = new DataView(bytes.buffer);
    expect([view.getUint16(8, true), view.getUint16(10, true)]).toEqual([2, 0]);
    const length = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
    expect(documentedHeader()).toEqual(header);
  });

  it("a file written by hand from the page decodes and scores what the formulas give", async () => {
    const header = documentedHeader();
    const text = new TextEncoder().encode(JSON.stringify(header));
    const sections = header.sections as { offset: number; byteLength: number }[];
    const bytes = new Uint8Array(Math.max(...sections.map((s) => s.offset + s.byteLength)));
    bytes.set(MAGIC, 0);
    const view = new DataView(bytes.buffer);
    view.setUint16(8, FORMAT_VERSION.major, true);
    view.setUint16(10, FORMAT_VERSION.minor, true);
    view.setUint32(12, text.length, true);
    bytes.set(text, 16);
    const words = filters.flat().map((v) => (v > 0 ? 1 : 0));
    words.forEach((w, i) => {
      view.setUint32(sections[0]!.offset + 4 * i, w, true);
    });
    scale.forEach((v, i) => {
      view.setFloat32(sections[1]!.offset + 4 * i, v, true);
    });
    bias.forEach((v, i) => {
      view.setFloat32(sections[2]!.offset + 4 * i, v, true);
    });
    expect(decodeModel(bytes, "hand-made.onebit")).toEqual(padsModel());
    for (const backend of ["ref", "wasm"] as const) {
      const engine = await Engine.load(bytes, { backend });
      for (const raw of [
        [0, 255, 128, 64, 200, 10, 90, 160, 255, 255, 0, 3, 127, 128, 9, 250],
        Array.from({ length: 16 }, (_, i) => (i * 97) % 256),
      ]) {
        expect([...engine.predict(Uint8Array.from(raw)).scores], backend).toEqual(byHand(raw));
      }
      engine.dispose();
    }
  });
});
