import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import type { EngineModel, Layer } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { unpackSigns } from "../../src/kernels/bits.js";
import { Random } from "../../src/util/random.js";
import { affine, bits, bn, chain, type Draft, f32, rnd, threshold } from "./drafts.js";

/** Every layer kind, odd channel counts, all three binary pad values, flips on a bit pool. */
function everyKindModel(seed: number, floatFirst = true): EngineModel {
  const rng = new Random(seed);
  const c0 = floatFirst ? 20 : 3;
  const first: Draft[] = [
    {
      kind: "float_conv2d",
      name: "conv0",
      weights: f32([20, 3, 3, 3], rnd(rng, 540)),
      bias: f32([20], rnd(rng, 20)),
      strides: [1, 1],
      padding: "same",
      padValue: 0.25,
    },
    { kind: "maxpool", name: "fpool", poolSize: [2, 2], strides: [1, 1], padding: "same" },
    bn(rng, "bn0", 20),
    { kind: "relu", name: "relu0" },
    bn(rng, "bn0b", 20),
  ];
  const layers = chain(
    [9, 9, 3],
    [
      { kind: "input", name: "input", scale: [1 / 255, 0.5 / 255, 2 / 255], offset: [-0.5] },
      ...(floatFirst ? first : []),
      { kind: "bitpack", name: "pack0" },
      {
        kind: "binary_conv2d",
        name: "bconv1",
        weights: bits(rng, [37, 3, 3, c0]),
        strides: [1, 1],
        padding: "same",
        padValue: 0,
        output: threshold(rng, 37, 60),
      },
      {
        kind: "maxpool",
        name: "bpool1",
        poolSize: [3, 3],
        strides: [2, 2],
        padding: "same",
        flip: bits(rng, [37]),
      },
      {
        kind: "binary_conv2d",
        name: "bconv2",
        weights: bits(rng, [33, 3, 3, 37]),
        strides: [1, 1],
        padding: "same",
        padValue: 1,
        output: threshold(rng, 33, 80),
      },
      { kind: "maxpool", name: "bpool2", poolSize: [2, 2], strides: [1, 1], padding: "valid" },
      {
        kind: "binary_conv2d",
        name: "bconv3",
        weights: bits(rng, [24, 2, 2, 33]),
        strides: [1, 1],
        padding: "same",
        padValue: -1,
        output: affine(rng, 24),
      },
      ...(floatFirst
        ? [{ kind: "avgpool", name: "apool", poolSize: [2, 2], strides: [1, 1], padding: "same" } as Draft]
        : []),
      bn(rng, "bn3", 24),
      { kind: "bitpack", name: "pack3" },
      { kind: "flatten", name: "flat" },
      {
        kind: "binary_dense",
        name: "bdense4",
        weights: bits(rng, [50, 384]),
        output: threshold(rng, 50, 40),
      },
      { kind: "binary_dense", name: "bdense5", weights: bits(rng, [30, 50]), output: affine(rng, 30) },
      {
        kind: "float_dense",
        name: "dense6",
        weights: f32([7, 30], rnd(rng, 210)),
        bias: f32([7], rnd(rng, 7)),
      },
      { kind: "softmax", name: "softmax" },
    ],
  );
  return { name: "every-kind", classNames: ["a", "b", "c", "d", "e", "f", "g"], layers, metadata: {} };
}

function images(count: number, size: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: count * size }, () => rng.int(256));
}

describe("Engine", () => {
  it("runs every layer kind on the ref and wasm (SIMD, scalar) backends: bit for bit up to the last float layer", async () => {
    // Float GEMM and average pooling round differently in ref and wasm, so the float first
    // layer and the average pool are left out here (the other tests run them) and the last
    // float dense is compared to 1e-5.
    const model = everyKindModel(1, false);
    const x = images(5, 243, 2);
    const ref = await Engine.load(model, { backend: "ref" });
    const wasm = await Engine.load(model, { backend: "wasm" });
    const scalar = await Engine.load(model, { backend: "wasm-scalar" });
    const a = ref.trace(x);
    const b = wasm.trace(x);
    const s = scalar.trace(x);
    for (let i = 0; i < a.length; i++) expect(s[i]!.preActivation, a[i]!.name).toEqual(a[i]!.preActivation);
    scalar.dispose();
    expect(a.map((t) => t.name)).toEqual(model.layers.map((l) => l.name));
    for (let i = 0; i < a.length; i++) {
      if (a[i]!.name === "dense6" || a[i]!.name === "softmax") {
        const [u, v] = [a[i]!.values, b[i]!.values];
        for (let j = 0; j < u.length; j++)
          expect(Math.abs(u[j]! - v[j]!)).toBeLessThanOrEqual(1e-5 * Math.abs(u[j]!) + 1e-7);
        continue;
      }
      expect(b[i]!.values, a[i]!.name).toEqual(a[i]!.values);
      expect(b[i]!.preActivation, a[i]!.name).toEqual(a[i]!.preActivation);
    }
    // The binary layers saw both polarities: their bit outputs are neither all 0 nor all 1.
    const words = a.find((t) => t.name === "bconv2")!.values as Uint32Array;
    expect(words.some((w) => w !== 0)).toBe(true);
    const scores = ref.predict(x).scores;
    for (let r = 0; r < 5; r++) {
      const row = scores.subarray(r * 7, r * 7 + 7);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    }
    ref.dispose();
    wasm.dispose();
  });

  it("predicts with fused kernels, per-image pool dispatches on 2 threads, the same scores as layer by layer", async () => {
    // Every kind with the float first layer: fused first layer, conv2dThreshold (padded
    // copy at pad +1, im2col at 20 channels), flipped bit max-pool, all per image chunk.
    const model = everyKindModel(4);
    const x = images(16, 243, 5);
    const plain = await Engine.load(model, { backend: "wasm", fuse: false });
    const one = await Engine.load(model, { backend: "wasm" });
    const two = await Engine.load(model, { backend: "wasm", threads: 2 });
    const want = plain.predict(x).scores;
    expect(Array.from(one.predict(x).scores)).toEqual(Array.from(want));
    expect(Array.from(two.predict(x).scores)).toEqual(Array.from(want));
    for (const e of [plain, one, two]) e.dispose();
  });

  it("predicts the same in batches, one by one and after an encode/decode round trip", async () => {
    const model = everyKindModel(3);
    const x = images(37, 243, 4);
    const engine = await Engine.load(model, { maxBatch: 16 });
    const all = engine.predict(x);
    expect(all.batch).toBe(37);
    expect(all.numClasses).toBe(7);
    for (const i of [0, 15, 16, 36]) {
      const one = engine.predict(x.subarray(i * 243, (i + 1) * 243));
      // The float GEMM's path depends on the row count (a matrix-vector product for one
      // row, the transposed problem below 16 columns), so floats may differ in the last ulp.
      const row = all.scores.subarray(i * 7, (i + 1) * 7);
      for (let j = 0; j < 7; j++) {
        expect(Math.abs(one.scores[j]! - row[j]!)).toBeLessThanOrEqual(1e-5 * Math.abs(row[j]!));
      }
      expect(one.classes[0]).toBe(all.classes[i]);
    }
    const again = await Engine.load(encodeModel(model));
    expect(again.predict(x).scores).toEqual(all.scores);
    expect(decodeModel(encodeModel(model)).layers.map((l) => l.kind)).toEqual(
      model.layers.map((l) => l.kind),
    );
    const heapBefore = engine.backend.heap.reserved;
    engine.predict(x);
    expect(engine.backend.heap.reserved).toBe(heapBefore);
    engine.dispose();
    again.dispose();
  });

  it("applies the input layer's per-channel preprocessing and bit max-pool flips", async () => {
    // input [2, 2, 2] -> bitpack -> maxpool 2x2 with channel 1 flipped -> flatten ... scores via affine.
    const layers = chain(
      [2, 2, 2],
      [
        { kind: "input", name: "input", scale: [1, -1], offset: [-10, 10] },
        { kind: "bitpack", name: "pack" },
        {
          kind: "maxpool",
          name: "pool",
          poolSize: [2, 2],
          strides: [2, 2],
          padding: "valid",
          flip: { dtype: "bits", shape: [2], data: Uint32Array.of(2) },
        },
        { kind: "flatten", name: "flat" },
        // dot with weights +1 on both channels: x = s0 + s1; affine y = x (one score per class).
        {
          kind: "binary_dense",
          name: "read",
          weights: { dtype: "bits", shape: [2, 2], data: Uint32Array.of(1, 2) },
          output: {
            kind: "affine",
            scale: f32([2], Float32Array.of(1, 1)),
            bias: f32([2], Float32Array.of(0, 0)),
          },
        },
      ],
    );
    const engine = await Engine.load(
      { name: "tiny", classNames: ["a", "b"], layers, metadata: {} },
      { backend: "ref" },
    );
    // channel 0: raw - 10 >= 0 at one pixel -> OR = 1; channel 1: 10 - raw >= 0 at 3 pixels, one < 0 -> AND = 0.
    const x = Float32Array.of(11, 5, 0, 3, 0, 7, 0, 20);
    const t = engine.trace(x);
    expect(Array.from(t[1]!.values as Uint32Array)).toEqual([3, 2, 2, 0]);
    expect(Array.from(t[2]!.values as Uint32Array)).toEqual([1]);
    // weights row 0 = bits 01 -> (+1, -1); row 1 = bits 10 -> (-1, +1); s = (+1, -1).
    expect(Array.from(engine.predict(x).scores)).toEqual([2, -2]);
    expect(() => engine.predict(new Float32Array(7))).toThrow(
      /7 values is not a whole number of \[2, 2, 2\] images/,
    );
    engine.dispose();
  });
});

describe("unpack (bits -> float +/-1)", () => {
  // input [3, 3, 37] -> bitpack -> unpack -> flatten -> float dense: 37 channels leave a tail word.
  function unpackModel(seed: number): EngineModel {
    const rng = new Random(seed);
    const layers = chain(
      [3, 3, 37],
      [
        { kind: "input", name: "input", scale: [1 / 255], offset: [-0.5] },
        { kind: "bitpack", name: "pack" },
        { kind: "unpack", name: "unpack" },
        { kind: "flatten", name: "flat" },
        { kind: "float_dense", name: "dense", weights: f32([4, 333], rnd(rng, 1332)) },
      ],
    );
    return { name: "unpack", classNames: ["a", "b", "c", "d"], layers, metadata: {} };
  }

  it("gives +1 where the bit is 1 and -1 where it is 0, on ref, SIMD and scalar, after a file round trip", async () => {
    const model = decodeModel(encodeModel(unpackModel(5)));
    expect(model.layers.map((l) => l.kind)).toEqual(["input", "bitpack", "unpack", "flatten", "float_dense"]);
    expect(model.layers[2]!.out).toEqual({ layout: "float", shape: [3, 3, 37] });
    const x = images(6, 333, 7);
    const expected = Float32Array.from(x, (v) => (v / 255 - 0.5 >= 0 ? 1 : -1));
    for (const backend of ["ref", "wasm-simd", "wasm-scalar"] as const) {
      const engine = await Engine.load(model, { backend });
      const t = engine.trace(x);
      expect(t[2]!.layout).toBe("float");
      expect(t[2]!.values, backend).toEqual(expected);
      // The dense layer sees exactly those values: its scores equal a plain float64 sum within rounding.
      const w = (model.layers[4] as Extract<Layer, { kind: "float_dense" }>).weights.data;
      const scores = engine.predict(x).scores;
      for (let r = 0; r < 6; r++) {
        for (let o = 0; o < 4; o++) {
          let sum = 0;
          for (let i = 0; i < 333; i++) sum += expected[r * 333 + i]! * w[o * 333 + i]!;
          expect(Math.abs(scores[r * 4 + o]! - sum)).toBeLessThan(1e-4 * (1 + Math.abs(sum)));
        }
      }
      engine.dispose();
    }
  });

  it("is rejected on float input, naming the layer", () => {
    const model = unpackModel(8);
    const layers = model.layers.filter((l) => l.kind !== "bitpack");
    layers[1]!.in = layers[0]!.out;
    expect(() => decodeModel(encodeModel({ ...model, layers }))).toThrow(
      /layer 1 'unpack' \(unpack\): expects bits input, got float \[3,3,37\]/,
    );
  });
});

describe("bwn_conv2d / bwn_dense (bits + alpha, float input)", () => {
  /** The same network twice: BWN layers, and float layers with weights +/-alpha spelled out. */
  function twins(seed: number): [EngineModel, EngineModel] {
    const rng = new Random(seed);
    const convBits = bits(rng, [6, 3, 3, 35]);
    const denseBits = bits(rng, [4, 150]);
    const convAlpha = f32(
      [6],
      Float32Array.from({ length: 6 }, () => 0.1 + rng.next()),
    );
    const denseAlpha = f32(
      [4],
      Float32Array.from({ length: 4 }, () => 0.1 + rng.next()),
    );
    const bias = f32([6], rnd(rng, 6));
    const expand = (t: { shape: number[]; data: Uint32Array }, alpha: Float32Array) => {
      const c = t.shape[t.shape.length - 1]!;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const signs = unpackSigns(t.data, n / c, c);
      const per = n / t.shape[0]!;
      return f32(
        t.shape,
        Float32Array.from(signs, (v, i) => v * alpha[Math.floor(i / per)]!),
      );
    };
    const conv = { strides: [1, 1], padding: "same", padValue: 0.5 };
    const make = (bwn: boolean): EngineModel => ({
      name: bwn ? "bwn" : "float",
      classNames: ["a", "b", "c", "d"],
      metadata: {},
      layers: chain(
        [5, 5, 35],
        [
          { kind: "input", name: "input", scale: [1 / 255], offset: [-0.5] },
          bwn
            ? { kind: "bwn_conv2d", name: "conv", weights: convBits, alpha: convAlpha, bias, ...conv }
            : {
                kind: "float_conv2d",
                name: "conv",
                weights: expand(convBits, convAlpha.data),
                bias,
                ...conv,
              },
          { kind: "flatten", name: "flat" },
          bwn
            ? { kind: "bwn_dense", name: "dense", weights: denseBits, alpha: denseAlpha }
            : { kind: "float_dense", name: "dense", weights: expand(denseBits, denseAlpha.data) },
        ],
      ),
    });
    return [make(true), make(false)];
  }

  it("computes exactly what the float layers with weights +/-alpha compute, on every backend, after a file round trip", async () => {
    const [bwn, float] = twins(11);
    const bytes = encodeModel(bwn);
    expect(bytes.length).toBeLessThan(encodeModel(float).length / 4);
    const x = images(7, 875, 12);
    for (const backend of ["ref", "wasm-simd", "wasm-scalar"] as const) {
      const a = await Engine.load(bytes, { backend });
      const b = await Engine.load(float, { backend });
      expect(a.predict(x).scores, backend).toEqual(b.predict(x).scores);
      a.dispose();
      b.dispose();
    }
  });

  it("rejects an alpha of the wrong length, naming the layer", () => {
    const [bwn] = twins(13);
    const conv = bwn.layers[1] as Extract<Layer, { kind: "bwn_conv2d" }>;
    conv.alpha = f32([5], new Float32Array(5));
    expect(() => encodeModel(bwn)).toThrow(
      /layer 1 'conv' \(bwn_conv2d\): alpha: expected shape \[6\], got \[5\]/,
    );
  });
});

describe("onebit/engine entry point", () => {
  it("imports only src/engine, src/kernels and the error family, and no Node built-in statically", async () => {
    const { readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const root = path.resolve(__dirname, "../../src");
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)) {
        const spec = m[1]!;
        expect(spec.startsWith("node:"), `${file} imports ${spec}`).toBe(false);
        if (!spec.startsWith(".")) continue;
        visit(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
      }
    };
    visit(path.join(root, "engine/index.ts"));
    const outside = [...seen]
      .map((f) => path.relative(root, f))
      .filter((f) => !/^(engine|kernels)\//.test(f) && f !== "errors.ts" && f !== "util/options.ts");
    expect(outside).toEqual([]);
    expect(seen.size).toBeGreaterThan(5);
  });
});
