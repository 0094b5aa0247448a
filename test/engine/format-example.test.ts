import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHAIN_VERSION, decodeModel, encodeModel, MAGIC } from "../../src/engine/format.js";
import type { EngineModel } from "../../src/engine/model.js";

/** The worked example of docs/format.md, built through the public API. */
function tinyModel(): EngineModel {
  return {
    name: "tiny",
    classNames: ["no", "yes"],
    layers: [
      {
        kind: "input",
        name: "input",
        in: { layout: "float", shape: [4, 4, 1] },
        out: { layout: "float", shape: [4, 4, 1] },
        scale: [0.00784313725490196],
        offset: [-1],
      },
      {
        kind: "bitpack",
        name: "sign",
        in: { layout: "float", shape: [4, 4, 1] },
        out: { layout: "bits", shape: [4, 4, 1] },
      },
      {
        kind: "binary_conv2d",
        name: "conv",
        in: { layout: "bits", shape: [4, 4, 1] },
        out: { layout: "bits", shape: [4, 4, 2] },
        weights: {
          dtype: "bits",
          shape: [2, 3, 3, 1],
          data: Uint32Array.of(1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1),
        },
        strides: [1, 1],
        padding: "same",
        padValue: -1,
        output: {
          kind: "threshold",
          thresholds: { dtype: "i32", shape: [2], data: Int32Array.of(1, -2147483648) },
          flip: { dtype: "bits", shape: [2], data: Uint32Array.of(0b10) },
        },
        quantization: { inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign", scaling: "none" },
      },
      {
        kind: "flatten",
        name: "flatten",
        in: { layout: "bits", shape: [4, 4, 2] },
        out: { layout: "bits", shape: [32] },
      },
      {
        kind: "binary_dense",
        name: "dense",
        in: { layout: "bits", shape: [32] },
        out: { layout: "float", shape: [2] },
        weights: { dtype: "bits", shape: [2, 32], data: Uint32Array.of(0x0f0f0f0f, 0xf0f0f0f0) },
        output: {
          kind: "affine",
          scale: { dtype: "f32", shape: [2], data: Float32Array.of(0.5, 0.25) },
          bias: { dtype: "f32", shape: [2], data: Float32Array.of(0, 1) },
        },
      },
      {
        kind: "softmax",
        name: "softmax",
        in: { layout: "float", shape: [2] },
        out: { layout: "float", shape: [2] },
      },
    ],
    metadata: { dataset: "example", epochs: 1 },
  };
}

function documentedHeader() {
  const doc = readFileSync(new URL("../../docs/format.md", import.meta.url), "utf8");
  const example = /<!-- example-header -->\s*```json\n([\s\S]*?)```/.exec(doc);
  if (!example) throw new Error("docs/format.md lost its example header");
  return JSON.parse(example[1]!);
}

describe("docs/format.md worked example", () => {
  it("the documented header is what the writer writes for the tiny model", () => {
    const bytes = encodeModel(tinyModel());
    const length = new DataView(bytes.buffer).getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
    expect(documentedHeader()).toEqual(header);
    // The sizes the page quotes.
    expect(length).toBe(1447);
    expect(bytes.length).toBe(1864);
    console.log(JSON.stringify(header), bytes.length);
  });

  it("a file written by hand from the documentation decodes", () => {
    // What another program would do: prefix, header, zero padding, sections at their offsets.
    const header = documentedHeader();
    const text = new TextEncoder().encode(JSON.stringify(header));
    const end = Math.max(
      ...header.sections.map((s: { offset: number; byteLength: number }) => s.offset + s.byteLength),
    );
    const bytes = new Uint8Array(end);
    bytes.set(MAGIC, 0);
    const view = new DataView(bytes.buffer);
    view.setUint16(8, CHAIN_VERSION.major, true);
    view.setUint16(10, CHAIN_VERSION.minor, true);
    view.setUint32(12, text.length, true);
    bytes.set(text, 16);
    const model = tinyModel();
    const tensors = [model.layers[2], model.layers[4]].flatMap((l) =>
      l!.kind === "binary_conv2d" || l!.kind === "binary_dense"
        ? [
            l.weights,
            ...(l.output.kind === "threshold"
              ? [l.output.thresholds, l.output.flip]
              : [l.output.scale, l.output.bias]),
          ]
        : [],
    );
    header.sections.forEach((s: { offset: number }, i: number) => {
      const t = tensors[i]!;
      for (let e = 0; e < t.data.length; e++) {
        if (t.dtype === "f32") view.setFloat32(s.offset + 4 * e, t.data[e]!, true);
        else view.setUint32(s.offset + 4 * e, t.data[e]! >>> 0, true);
      }
    });
    expect(decodeModel(bytes, "hand-made.onebit")).toEqual(model);
  });
});
