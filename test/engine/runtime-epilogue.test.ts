/**
 * The load-time fusion of residual block tails into the binary conv's epilogue
 * (src/engine/runtime-epilogue.ts): which layers it takes, and `predict` (fused) giving
 * the same bits as `trace` (every layer on its own), for QuickNet, Bi-Real and ReActNet
 * blocks on one thread, on two with one image (rows split) and with a batch (images split).
 */
import { describe, expect, it } from "vitest";
import type { EngineModel } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { findEpilogueRuns } from "../../src/engine/runtime-epilogue.js";
import { buildModel } from "../../src/nn/build.js";
import { builderSpec } from "../../src/nn/builders.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";
import { randomImages, randomizeBatchNorms, toEngineModel } from "../export/convert-helpers.js";

async function zooLike(builder: string, width: number): Promise<EngineModel> {
  const ctx = await createContext("wasm");
  const spec = builderSpec({ builder, options: { inputShape: [12, 12, 1], width, stages: [2, 2] } });
  const m = buildModel(ctx, spec, new Random(3));
  randomizeBatchNorms(m, 8);
  for (const [name, t] of m.namedTensors()) {
    // Non-zero shifts and PReLU slopes of both signs, so ReActNet's ops matter.
    if (name.endsWith(".bias") || name.endsWith(".alpha"))
      t.data.set(t.data.map((_, i) => ((i * 37) % 11) / 10 - 0.4));
  }
  const em = toEngineModel(m);
  m.dispose();
  return em;
}

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe("residual tails fused into the binary conv's epilogue", () => {
  it("finds each block's tail and the next block's bitpack", async () => {
    const kindsOf = (em: EngineModel) =>
      [...findEpilogueRuns(em.layers, (i) => em.layers[i]!.kind === "binary_conv2d").values()].map((r) => [
        ...r.members.map((i) => em.layers[i]!.kind),
        ...(r.pack >= 0
          ? [`${em.layers[r.pack]!.kind}${"thresholds" in em.layers[r.pack]! ? "+thresholds" : ""}`]
          : []),
      ]);
    const quick = kindsOf(await zooLike("quicknet", 40));
    expect(quick.length).toBe(4);
    // Within a stage the sum feeds the next block's sign; the stage's last sum feeds only
    // the transition's relu, which joins the chain.
    expect(quick[0]).toEqual(["binary_conv2d", "relu", "batchnorm", "add", "bitpack"]);
    expect(quick[1]).toEqual(["binary_conv2d", "relu", "batchnorm", "add", "relu"]);
    const bireal = kindsOf(await zooLike("birealnet", 40));
    expect(bireal[0]).toEqual(["binary_conv2d", "batchnorm", "add", "bitpack"]);
    // The downsampling block: its shortcut (pool, 1x1 conv, batch norm) lies between the
    // conv and the add, and stays a layer of its own.
    expect(bireal[2]).toEqual(["binary_conv2d", "batchnorm", "add", "bitpack"]);
    expect(bireal.length).toBe(4);
    const react = kindsOf(await zooLike("reactnet", 40));
    expect(react[0]).toEqual([
      "binary_conv2d",
      "batchnorm",
      "add",
      "shift",
      "prelu",
      "shift",
      "bitpack+thresholds",
    ]);
    expect(react[2]).toEqual(react[0]);
  });

  for (const builder of ["quicknet", "birealnet", "reactnet"]) {
    it(`${builder}: predict with the epilogues equals the layer-by-layer trace, 1 and 2 threads`, async () => {
      const em = await zooLike(builder, 64);
      const images = randomImages(8, 144, 5);
      for (const threads of [1, 2]) {
        const engine = await Engine.load(em, { threads });
        try {
          for (const n of [1, 8]) {
            const batch = images.subarray(0, n * 144);
            const traced = engine.trace(batch);
            const want = traced[traced.length - 1]!.values as Float32Array;
            const got = engine.predict(batch).scores;
            expect(bitsOf(got), `${builder} threads=${threads} n=${n}`).toEqual(bitsOf(want));
          }
        } finally {
          engine.dispose();
        }
      }
    });
  }
});
