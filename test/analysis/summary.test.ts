import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { summarizeFile } from "../../src/cli/commands/summary.js";
import { encodeModel } from "../../src/engine/format.js";
import { convertCheckpoint } from "../../src/export/checkpoint.js";
import { onebit, writeCheckpoint } from "./helpers.js";

let dir: string;
const tiny = { builder: "bnn-mlp", options: { width: 40, depth: 1, first: "binary", last: "binary" } };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "onebit-summary-"));
});

/** One line per layer: the fields a reader checks by eye. */
const rows = (s: Awaited<ReturnType<typeof summarizeFile>>) =>
  s.layers.map(
    (l) =>
      `${l.name} ${l.type} [${l.outputShape}] params=${l.params} w=${l.weightBits} in=${l.inputBits} f32=${l.float32Bytes} dep=${l.deployedBytes} macs=${l.macs.binary}/${l.macs.float}`,
  );

describe("onebit summary", () => {
  it("--json of a checkpoint: per layer, totals, the exported file size", async () => {
    const file = await writeCheckpoint(dir, "tiny", tiny);
    const { out } = await onebit("summary", file, "--json");
    const s = JSON.parse(out);
    expect(rows(s)).toMatchInlineSnapshot(`
      [
        "flatten_1 flatten [784] params=0 w=null in=null f32=0 dep=0 macs=0/0",
        "quant_dense_1 quant_dense [40] params=31360 w=1 in=1 f32=125440 dep=4168 macs=31360/0",
        "batch_norm_1 batch_norm [40] params=160 w=32 in=null f32=640 dep=0 macs=0/0",
        "quant_dense_2 quant_dense [10] params=400 w=1 in=1 f32=1600 dep=160 macs=400/0",
        "batch_norm_2 batch_norm [10] params=40 w=32 in=null f32=160 dep=160 macs=0/0",
      ]
    `);
    expect({ ...s.totals }).toMatchInlineSnapshot(`
      {
        "binaryParams": 31760,
        "compression": 18.911242603550296,
        "deployedBytes": 4488,
        "fileBytes": 6760,
        "float32Bytes": 127840,
        "macs": {
          "binary": 31760,
          "float": 0,
        },
        "params": 31960,
      }
    `);
    // The deployed size is the real encoding's, as `onebit export` writes it.
    const { engineModel, model } = await convertCheckpoint(file);
    model.dispose();
    expect(s.totals.fileBytes).toBe(encodeModel(engineModel).length);
  });

  it("--json of the .onebit file: engine layers and the real file size", async () => {
    const { engineModel, model } = await convertCheckpoint(await writeCheckpoint(dir, "tiny2", tiny));
    model.dispose();
    const bytes = encodeModel(engineModel);
    const file = path.join(dir, "tiny.onebit");
    await writeFile(file, bytes);
    const { out } = await onebit("summary", file, "--json");
    const s = JSON.parse(out);
    expect(s.kind).toBe("onebit");
    expect(rows(s)).toMatchInlineSnapshot(`
      [
        "input input [28,28,1] params=0 w=null in=null f32=0 dep=0 macs=0/0",
        "flatten_1 flatten [784] params=0 w=null in=null f32=0 dep=0 macs=0/0",
        "quant_dense_1.bitpack bitpack [784] params=0 w=null in=null f32=0 dep=0 macs=0/0",
        "quant_dense_1 binary_dense [40] params=31440 w=1 in=1 f32=125760 dep=4168 macs=31360/0",
        "quant_dense_2 binary_dense [10] params=420 w=1 in=1 f32=1680 dep=160 macs=400/0",
        "batch_norm_2 batchnorm [10] params=40 w=32 in=null f32=160 dep=160 macs=0/0",
      ]
    `);
    expect(s.totals.fileBytes).toBe(bytes.length);
    expect(s.totals.compression).toBeCloseTo(s.totals.float32Bytes / bytes.length, 10);
  });

  it.each([
    ["bnn-mlp", { width: 64 }],
    ["bnn-cnn", {}],
    ["xnor-cnn", {}],
    ["bwn-cnn", {}],
    ["bnn-cnn", { float: true }],
  ])("every builder: %s %o", async (builder, options) => {
    const file = await writeCheckpoint(dir, `${builder}-${JSON.stringify(options)}`, { builder, options });
    const s = await summarizeFile(file);
    const t = s.totals;
    const sum = (f: (l: (typeof s.layers)[number]) => number) => s.layers.reduce((a, l) => a + f(l), 0);
    expect(t.params).toBe(sum((l) => l.params));
    expect(t.float32Bytes).toBe(4 * t.params);
    // Converted when the exporter accepts the model, else estimated (and said so).
    if (t.fileBytes === null) expect(s.note).toMatch(/not convertible/);
    else expect(t.fileBytes).toBeGreaterThan(t.deployedBytes);
    const weights = s.layers.filter((l) => l.type.startsWith("quant_"));
    expect(weights.length).toBe(builder === "bnn-mlp" ? 4 : 5);
    // First and last weight layers are float by default (bnn-mlp's first: binary weights);
    // the middle ones binary except in the float twin / BWN.
    const float = (options as { float?: boolean }).float === true;
    expect(weights[0]!.weightBits).toBe(builder === "bnn-mlp" && !float ? 1 : 32);
    expect(weights[0]!.inputBits).toBe(32);
    expect(weights.at(-1)!.weightBits).toBe(32);
    expect(weights[1]!.weightBits).toBe(float ? 32 : 1);
    expect(weights[1]!.inputBits).toBe(float || builder === "bwn-cnn" ? 32 : 1);
    if (float || builder === "bwn-cnn") expect(t.macs.binary).toBe(0);
    else
      expect(t.macs.binary).toBe(sum((l) => (l.weightBits === 1 && l.inputBits === 1 ? l.macs.binary : 0)));
    if (!float && builder !== "bwn-cnn") expect(t.macs.binary).toBeGreaterThan(0);
    // BWN weights deploy as +/-alpha floats: only binary-input models shrink.
    if (!float && builder !== "bwn-cnn") expect(t.compression).toBeGreaterThan(3);
  });

  it("names the file it cannot read", async () => {
    await expect(onebit("summary", path.join(dir, "missing.ckpt"))).rejects.toThrow(
      /missing\.ckpt: cannot read/,
    );
  });
});
