import { mkdtemp, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildVariant,
  checkpointLayers,
  isGraphCheckpoint,
  resolveGroups,
  variantRecords,
  weightLayers,
} from "../../src/analysis/variant.js";
import { loadCheckpoint } from "../../src/nn/checkpoint.js";
import { createContext } from "../../src/tensor/index.js";
import { onebit, writeCheckpoint } from "./helpers.js";

let dir: string;
let floatFile: string;
let binaryFile: string;
const mlp = (options: Record<string, unknown>) => ({
  builder: "bnn-mlp",
  options: { width: 32, depth: 1, ...options },
});
const quick = ["--dataset", "mnist", "--limit-train", "128", "--limit-test", "200", "--calibration", "128"];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "onebit-sensitivity-"));
  floatFile = await writeCheckpoint(dir, "float", mlp({ float: true }));
  binaryFile = await writeCheckpoint(dir, "binary", mlp({ first: "binary", last: "binary" }));
});

describe("variants", () => {
  it("binarize-one replaces the float twin's ReLU by the quantizer; keep-one drops the quantizers", async () => {
    const ck = await loadCheckpoint(floatFile);
    expect(
      weightLayers(checkpointLayers(ck)).map((l) => `${l.name}@${l.index} w${l.weightBits} in${l.inputBits}`),
    ).toEqual(["dense1@1 w32 in32", "dense2@4 w32 in32"]);
    const types = (rs: { type: string }[]) => rs.map((r) => r.type).join(" ");
    expect(types(checkpointLayers(ck))).toBe(
      "flatten quant_dense batch_norm activation quant_dense batch_norm",
    );
    const two = variantRecords(checkpointLayers(ck), [{ layer: 4, bits: 2 }]);
    expect(types(two)).toBe("flatten quant_dense batch_norm quant_dense batch_norm");
    expect(two[3]).toMatchObject({
      source: 4,
      normalizeKernel: true,
      config: {
        inputQuantizer: { name: "dorefa", options: { k: 2 } },
        kernelQuantizer: { name: "dorefa", options: { k: 2 } },
      },
    });
    const bin = await loadCheckpoint(binaryFile);
    const kept = variantRecords(checkpointLayers(bin), [{ layer: 1, bits: 32 }]);
    expect(kept[1]!.config).toMatchObject({ inputQuantizer: null, kernelQuantizer: null, scaling: "none" });
    expect(weightLayers(checkpointLayers(bin)).map((l) => l.weightBits)).toEqual([1, 1]);
  });

  it("a variant loads the checkpoint's tensors (a 2-bit kernel scaled to max |W| = 1)", async () => {
    const ck = await loadCheckpoint(floatFile);
    const ctx = await createContext("wasm");
    const model = buildVariant(ctx, ck, variantRecords(checkpointLayers(ck), [{ layer: 1, bits: 2 }]));
    const w = model.layers[1]!.params()[0]!.tensor.toArray();
    const stored = ck.tensors.get(`${ck.spec.layers[1]!.name}.kernel`)!.data;
    const m = Math.max(...stored.map(Math.abs));
    expect(Math.max(...w.map(Math.abs))).toBeCloseTo(1, 6);
    expect(w[7]).toBeCloseTo(stored[7]! / m, 6);
    model.dispose();
  });
});

describe("every builder", () => {
  it.each(["bnn-cnn", "xnor-cnn", "bwn-cnn", "bnn-mlp"])(
    "%s: binarize-one from the float twin, keep-one from the binary model",
    async (builder) => {
      const small = builder === "bnn-mlp" ? { width: 32 } : { widthMultiplier: 0.25 };
      const f = await writeCheckpoint(dir, `${builder}-float`, {
        builder,
        options: { ...small, float: true },
      });
      const b = await writeCheckpoint(dir, `${builder}-binary`, { builder, options: small });
      const { out } = await onebit(
        "sensitivity",
        f,
        "--binary",
        b,
        "--dataset",
        "mnist",
        "--limit-train",
        "32",
        "--limit-test",
        "32",
        "--calibration",
        "32",
        "--finetune-epochs",
        "0",
        "--bits",
        "1,4",
        "--layers",
        builder === "bnn-mlp" ? "dense2,dense1" : "conv2,dense1",
        "--json",
      );
      const r = JSON.parse(out);
      expect(r.binarizeOne.results.map((v: { bits: number }) => v.bits)).toEqual([1, 4, 1, 4]);
      expect(r.keepOne.results).toHaveLength(2);
    },
  );
});

describe("onebit sensitivity", () => {
  it("--json: binarize-one on one layer; a 32-bit 'quantization' reproduces the reference exactly", async () => {
    const { out, err } = await onebit(
      "sensitivity",
      floatFile,
      ...quick,
      "--mode",
      "binarize-one",
      "--bits",
      "1,32",
      "--layers",
      "dense2",
      "--json",
    );
    const r = JSON.parse(out);
    expect(r.variants).toBe(3);
    expect(r.keepOne).toBeUndefined();
    expect(r.testImages).toBe(200);
    expect(r.finetune).toEqual({ epochs: 1, images: 128, batchSize: 64, lr: 5e-4 });
    expect(r.binarizeOne.layers.map((l: { name: string }) => l.name)).toEqual(["dense1", "dense2"]);
    expect(r.binarizeOne.results.map((v: { layer: string; bits: number }) => `${v.layer}@${v.bits}`)).toEqual(
      ["dense2@1", "dense2@32"],
    );
    for (const v of r.binarizeOne.results) {
      expect(v.accuracy).toBeGreaterThanOrEqual(0);
      expect(v.accuracy).toBeLessThanOrEqual(1);
      expect(v.delta).toBeCloseTo(r.binarizeOne.reference.accuracy - v.accuracy, 12);
    }
    expect(r.binarizeOne.results[1].delta).toBe(0);
    // dense2 "at 32 bits" is the float reference itself: not trained again.
    expect([r.trainings, r.reused]).toEqual([2, 0]);
    expect(r.binarizeOne.results.map((v: { same: boolean }) => v.same)).toEqual([false, true]);
    expect(r.method).toBe("finetune");
    expect(r.binarizeOne.results[0].perSeed).toEqual([r.binarizeOne.results[0].accuracy]);
    expect(r.binarizeOne.results[0].deltaInterval).toBeNull();
    expect(err).toMatch(/\[2\/2\] dense2 at 1 bit/);
  });

  it("--mode both with --out: keep-one from a binary checkpoint, pictures and the HTML report", async () => {
    const out = path.join(dir, "report");
    const res = await onebit(
      "sensitivity",
      floatFile,
      ...quick,
      "--binary",
      binaryFile,
      "--bits",
      "1",
      "--layers",
      "dense1",
      "--finetune-epochs",
      "0",
      "--out",
      out,
      "--json",
    );
    const r = JSON.parse(res.out);
    expect(r.variants).toBe(4);
    expect(r.keepOne.reference.source).toBe("checkpoint");
    expect(r.keepOne.results.map((v: { layer: string; bits: number }) => `${v.layer}@${v.bits}`)).toEqual([
      "dense1@32",
    ]);
    const png = await readFile(path.join(out, "bars.png"));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    expect((await stat(path.join(out, "heatmap.png"))).size).toBeGreaterThan(1000);
    const html = await readFile(path.join(out, "report.html"), "utf8");
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).toContain("Model summary");
    expect(html).not.toMatch(/(src|href)="http/);
    const json = JSON.parse(await readFile(path.join(out, "sensitivity.json"), "utf8"));
    expect(json.summaries.length).toBe(2);
  });

  it("--mode both without a binary checkpoint derives the binary model from the float one", async () => {
    const args = ["--bits", "1", "--finetune-epochs", "0", "--json"];
    const r = JSON.parse((await onebit("sensitivity", floatFile, ...quick, ...args)).out);
    expect(r.keepOne.reference.source).toBe("derived");
    expect(r.variants).toBe(6);
    // With two weight layers, keeping dense2 at full precision in the all-binary model is
    // binarizing dense1 alone: the same model, so the same accuracy.
    const binarized = r.binarizeOne.results.find((v: { layer: string }) => v.layer === "dense1");
    const kept = r.keepOne.results.find((v: { layer: string }) => v.layer === "dense2");
    expect(kept.accuracy).toBe(binarized.accuracy);
  });

  it("names an unknown layer and lists the known ones", async () => {
    await expect(onebit("sensitivity", floatFile, ...quick, "--layers", "conv9")).rejects.toThrow(
      /float\.ckpt: unknown layer 'conv9'; its weight layers are dense1 \(layers\.1\), dense2 \(layers\.4\)/,
    );
  });

  it("refuses a float checkpoint for keep-one", async () => {
    await expect(onebit("sensitivity", floatFile, ...quick, "--mode", "keep-one")).rejects.toThrow(
      /float\.ckpt: a full-precision model \(no quantized weight layer\); keep-one needs a binary model/,
    );
  });

  it("refuses a data set whose images do not fit the model", async () => {
    const small = await writeCheckpoint(dir, "small", mlp({ float: true, inputShape: [14, 14, 1] }));
    await expect(onebit("sensitivity", small, ...quick)).rejects.toThrow(
      /small\.ckpt: the model expects input \[14,14,1\], data set 'mnist' has images \[28, 28, 1\]/,
    );
  });
});

describe("graph models (residual BNNs)", () => {
  it("weight layers by spec name, blocks by prefix, and a block's variant keeps the graph", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-sensitivity-graph-"));
    const file = await writeCheckpoint(dir, "reactnet", {
      builder: "reactnet",
      options: { width: 8, stages: [1, 1] },
    });
    const ck = await loadCheckpoint(file);
    expect(isGraphCheckpoint(ck)).toBe(true);
    const layers = weightLayers(checkpointLayers(ck), true);
    expect(layers.map((l) => l.name)).toEqual([
      "stem_conv",
      "stage1_block1_conv",
      "stage2_block1_conv",
      "stage2_block1_shortcut",
      "classifier",
    ]);
    const [block, stem] = resolveGroups(layers, ["stage2_block1", "stem_conv"], file);
    expect(block!.layers.map((l) => l.name)).toEqual(["stage2_block1_conv", "stage2_block1_shortcut"]);
    expect(stem!.layers.map((l) => l.name)).toEqual(["stem_conv"]);
    expect(() => resolveGroups(layers, ["stage9"], file)).toThrow(
      /unknown layer 'stage9'; its weight layers are/,
    );
    // The block at full precision: its binary conv loses its quantizers, the wiring stays.
    const edits = block!.layers.map((l) => ({ layer: l.index, bits: 32 }));
    const ctx = await createContext("wasm");
    const model = buildVariant(ctx, ck, variantRecords(checkpointLayers(ck), edits, true), file);
    expect(model.isChain).toBe(false);
    expect(model.spec.layers.map((l) => l.inputs)).toEqual(ck.spec.layers.map((l) => l.inputs));
    const conv = model.spec.layers.find((l) => l.name === "stage2_block1_conv")!;
    expect(conv.config).toMatchObject({ inputQuantizer: null, kernelQuantizer: null });
    model.dispose();
  });
});
