import { describe, expect, it } from "vitest";
import type { EngineModel } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { packSigns } from "../../src/kernels/bits.js";
import type { Padding } from "../../src/kernels/geometry.js";
import type { BackendKind } from "../../src/kernels/index.js";
import { Random } from "../../src/util/random.js";
import { chain, type Draft, f32 } from "./drafts.js";

interface Config {
  c: number;
  outC: number;
  k: number;
  padding: Padding;
  pool?: [number, number, Padding];
  bn: boolean;
  bias: boolean;
}

/** input -> float conv -> [maxpool] -> [batchnorm] -> bitpack -> flatten -> binary dense (affine) -> scores. */
function model(cfg: Config, seed: number): EngineModel {
  const rng = new Random(seed);
  const r = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
  const { c, outC, k } = cfg;
  const layers: Draft[] = [
    { kind: "input", name: "input", scale: [1 / 127.5], offset: [-1] },
    {
      kind: "float_conv2d",
      name: "conv",
      weights: f32([outC, k, k, c], r(outC * k * k * c)),
      ...(cfg.bias ? { bias: f32([outC], r(outC, 0.5)) } : {}),
      strides: [1, 1],
      padding: cfg.padding,
      padValue: -0.75,
    },
  ];
  if (cfg.pool) {
    const [size, stride, padding] = cfg.pool;
    layers.push({
      kind: "maxpool",
      name: "pool",
      poolSize: [size, size],
      strides: [stride, stride],
      padding,
    });
  }
  if (cfg.bn) {
    layers.push({
      kind: "batchnorm",
      name: "bn",
      mean: f32([outC], r(outC)),
      invStd: f32(
        [outC],
        Float32Array.from({ length: outC }, () => 0.5 + rng.next()),
      ),
      gamma: f32([outC], r(outC)),
      beta: f32([outC], r(outC, 0.3)),
    });
  }
  layers.push({ kind: "bitpack", name: "pack" }, { kind: "flatten", name: "flat" });
  const drafts = chain([9, 8, c], layers);
  const flat = drafts[drafts.length - 1]!.out.shape[0]!;
  const weights = packSigns(r(7 * flat), 7, flat);
  const all = chain(
    [9, 8, c],
    [
      ...layers,
      {
        kind: "binary_dense",
        name: "dense",
        weights: { dtype: "bits", shape: [7, flat], data: weights },
        output: {
          kind: "affine",
          scale: f32([7], Float32Array.of(1, 1, 1, 1, 1, 1, 1)),
          bias: f32([7], new Float32Array(7)),
        },
      },
    ],
  );
  return { name: "fused", classNames: [..."abcdefg"], layers: all, metadata: {} };
}

const CONFIGS: Config[] = [
  { c: 1, outC: 32, k: 3, padding: "valid", pool: [2, 2, "valid"], bn: true, bias: false },
  { c: 3, outC: 37, k: 3, padding: "same", pool: [3, 2, "same"], bn: true, bias: true },
  { c: 5, outC: 6, k: 2, padding: "same", bn: true, bias: true },
  { c: 2, outC: 33, k: 3, padding: "valid", pool: [2, 1, "valid"], bn: false, bias: true },
];

describe("fused float first layer", () => {
  for (const backend of ["wasm", "wasm-scalar", "ref"] as BackendKind[]) {
    it(`gives the same bits as the unfused layers (${backend})`, async () => {
      for (const [i, cfg] of CONFIGS.entries()) {
        const m = model(cfg, 10 + i);
        const x = new Random(20 + i);
        const images = Uint8Array.from({ length: 5 * 9 * 8 * cfg.c }, () => x.int(256));
        const fused = await Engine.load(m, { backend });
        const plain = await Engine.load(m, { backend, fuse: false });
        const a = fused.predict(images).scores;
        const b = plain.predict(images).scores;
        expect(Array.from(a), JSON.stringify(cfg)).toEqual(Array.from(b));
        // The scores are dot products of the packed bits: both polarities occur.
        expect(new Set(a).size).toBeGreaterThan(1);
        fused.dispose();
        plain.dispose();
      }
    });
  }
});
