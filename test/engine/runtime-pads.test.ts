/**
 * Explicit per-side padding (format 2.0 `padding: [top, left, bottom, right]`): every conv
 * and pool kind with pads that neither 'same' nor 'valid' gives (top > bottom, one side
 * only, PyTorch's [1, 1, 1, 1] at stride 2), golden-tested across the ref and wasm
 * backends, fused and layer by layer, on 1 and 2 threads; and a binary conv checked
 * against the window rule of docs/format.md evaluated here by hand.
 */
import { describe, expect, it } from "vitest";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import type { EngineModel, Layer, Padding } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { packSigns } from "../../src/kernels/bits.js";
import { Random } from "../../src/util/random.js";
import { affine, bits, bn, chain, type Draft, f32, rnd, threshold } from "./drafts.js";

const bnSmall = (rng: Random, name: string, c: number) => bn(rng, name, c, 0.1, 0.1);

/**
 * Every window kind with explicit pads; the binary convs take the im2col path (20
 * channels), the padded-copy path (64 channels, 3x3 stride 1) and the direct path (stride
 * 2), at pad values 0, -1 and +1.
 */
function padsModel(seed: number, floatPool = true): EngineModel {
  const rng = new Random(seed);
  const layers = chain(
    [16, 16, 3],
    [
      { kind: "input", name: "input", scale: [1 / 255], offset: [-0.5] },
      {
        kind: "float_conv2d",
        name: "stem",
        weights: f32([20, 3, 3, 3], rnd(rng, 540)),
        bias: f32([20], rnd(rng, 20, 0.1)),
        strides: [2, 2],
        padding: [1, 1, 1, 1],
        padValue: 0,
      },
      ...(floatPool
        ? [
            {
              kind: "maxpool",
              name: "fpool",
              poolSize: [3, 3],
              strides: [1, 1],
              padding: [1, 0, 0, 1],
            } as Draft,
          ]
        : []),
      bnSmall(rng, "bn0", 20),
      { kind: "bitpack", name: "pack0" },
      {
        kind: "binary_conv2d",
        name: "im2col",
        weights: bits(rng, [64, 3, 3, 20]),
        strides: [1, 1],
        padding: [2, 0, 0, 2],
        padValue: 0,
        output: threshold(rng, 64, 50),
      },
      {
        kind: "binary_conv2d",
        name: "padded",
        weights: bits(rng, [64, 3, 3, 64]),
        strides: [1, 1],
        padding: [1, 1, 0, 0],
        padValue: 0,
        output: threshold(rng, 64, 120),
      },
      {
        kind: "binary_conv2d",
        name: "padded1",
        weights: bits(rng, [64, 3, 3, 64]),
        strides: [1, 1],
        padding: [0, 1, 1, 0],
        padValue: 1,
        output: threshold(rng, 64, 120),
      },
      {
        kind: "binary_conv2d",
        name: "stride2",
        weights: bits(rng, [37, 3, 3, 64]),
        strides: [2, 2],
        padding: [1, 1, 1, 1],
        padValue: -1,
        output: threshold(rng, 37, 120),
      },
      {
        kind: "maxpool",
        name: "bpool",
        poolSize: [2, 2],
        strides: [1, 1],
        padding: [1, 1, 0, 0],
        flip: bits(rng, [37]),
      },
      {
        kind: "binary_conv2d",
        name: "toFloat",
        weights: bits(rng, [24, 3, 3, 37]),
        strides: [1, 1],
        padding: [0, 2, 2, 0],
        padValue: 0,
        output: affine(rng, 24),
      },
      {
        kind: "depthwise_conv2d",
        name: "dw",
        weights: f32([3, 3, 24], rnd(rng, 216)),
        bias: f32([24], rnd(rng, 24, 0.1)),
        strides: [2, 1],
        padding: [2, 1, 0, 2],
      },
      { kind: "avgpool", name: "apool", poolSize: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1] },
      { kind: "globalavgpool", name: "gap" },
      {
        kind: "float_dense",
        name: "head",
        weights: f32([5, 24], rnd(rng, 120)),
        bias: f32([5], rnd(rng, 5)),
      },
    ],
  );
  return { name: "pads", classNames: ["a", "b", "c", "d", "e"], layers, metadata: {} };
}

/** A model whose last layer is `layers`' last, flattened into its scores. */
function scored(name: string, layers: Layer[]): EngineModel {
  const last = layers[layers.length - 1]!.out;
  const n = last.shape.reduce((a, b) => a * b, 1);
  const flatten = {
    kind: "flatten",
    name: "scores",
    in: last,
    out: { layout: "float", shape: [n] },
  } as Layer;
  return {
    name,
    classNames: Array.from({ length: n }, (_, i) => `${i}`),
    layers: [...layers, flatten],
    metadata: {},
  };
}

function images(count: number, size: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: count * size }, () => rng.int(256));
}

describe("explicit pads", () => {
  it("give the shapes of PyTorch's rule and are written as format 2.0", () => {
    const model = padsModel(1);
    const shapes = Object.fromEntries(model.layers.map((l) => [l.name, l.out.shape]));
    // 16 rows, pads 1+1, 3x3 stride 2: floor((16 + 2 - 3) / 2) + 1 = 8 ('same' also gives 8,
    // with no pad on top; 'valid' 7).
    expect(shapes["stem"]).toEqual([8, 8, 20]);
    // The pool [1, 0, 0, 1]: 8 + 1 + 0 - 3 + 1 = 7 rows and columns; the convs at stride 1
    // lose kh - 1 - top - bottom rows each: 7 ([2, 0, 0, 2]), 6, 5.
    expect(shapes["fpool"]).toEqual([7, 7, 20]);
    expect(shapes["im2col"]).toEqual([7, 7, 64]);
    expect(shapes["padded1"]).toEqual([5, 5, 64]);
    expect(shapes["stride2"]).toEqual([3, 3, 37]);
    const bytes = encodeModel(model);
    expect([bytes[8], bytes[10]]).toEqual([2, 0]);
    expect(decodeModel(bytes)).toEqual(model);
  });

  it("compute the same on the ref and wasm (SIMD, scalar) backends, bit for bit where integer", async () => {
    // With the float pool first the float stem's rounding would differ between ref and wasm;
    // there a float max-pool keeps the same values, so it stays in.
    const model = padsModel(2);
    const x = images(3, 768, 3);
    const ref = await Engine.load(model, { backend: "ref" });
    const wasm = await Engine.load(model, { backend: "wasm", fuse: false });
    const scalar = await Engine.load(model, { backend: "wasm-scalar", fuse: false });
    const [a, b, s] = [ref.trace(x), wasm.trace(x), scalar.trace(x)];
    let compared = 0;
    for (let i = 0; i < a.length; i++) {
      const name = a[i]!.name;
      for (const other of [b, s]) {
        expect(other[i]!.preActivation, name).toEqual(a[i]!.preActivation);
        const [u, v] = [a[i]!.values, other[i]!.values];
        if (u instanceof Uint32Array) {
          expect(v, name).toEqual(u);
          compared++;
        } else {
          for (let j = 0; j < u.length; j++) {
            expect(Math.abs(u[j]! - v[j]!), name).toBeLessThanOrEqual(1e-4 * Math.abs(u[j]!) + 1e-4);
          }
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(12);
    // The binary layers saw both polarities.
    const words = a.find((t) => t.name === "padded")!.values as Uint32Array;
    expect(words.some((w) => w !== 0) && words.some((w) => w !== 0xffffffff)).toBe(true);
    for (const e of [ref, wasm, scalar]) e.dispose();
  });

  it("predict the same fused, layer by layer and on 2 threads", async () => {
    const model = padsModel(4, false);
    const x = images(9, 768, 5);
    const plain = await Engine.load(model, { backend: "wasm", fuse: false });
    const one = await Engine.load(model, { backend: "wasm" });
    const two = await Engine.load(model, { backend: "wasm", threads: 2 });
    const want = plain.predict(x).scores;
    expect(Array.from(one.predict(x).scores)).toEqual(Array.from(want));
    expect(Array.from(two.predict(x).scores)).toEqual(Array.from(want));
    for (const e of [plain, one, two]) e.dispose();
  });

  it("that equal the 'same' rule compute what 'same' computes", async () => {
    const rng = new Random(7);
    const conv = (padding: Padding, strides: [number, number]): EngineModel => {
      const r = new Random(8);
      return scored(
        "same",
        chain(
          [8, 8, 1],
          [
            { kind: "input", name: "input", scale: [1 / 255], offset: [-0.5] },
            { kind: "bitpack", name: "pack" },
            {
              kind: "binary_conv2d",
              name: "conv",
              weights: bits(r, [40, 3, 3, 1]),
              strides,
              padding,
              padValue: 0,
              output: affine(r, 40),
            },
          ],
        ),
      );
    };
    const x = images(2, 64, rng.int(1000));
    // 'same' at stride 1 pads 1 a side; at stride 2 on 8 rows it pads 0 on top, 1 below.
    for (const [pads, strides] of [
      [
        [1, 1, 1, 1],
        [1, 1],
      ],
      [
        [0, 0, 1, 1],
        [2, 2],
      ],
    ] as [Padding, [number, number]][]) {
      for (const backend of ["ref", "wasm"] as const) {
        const same = await Engine.load(conv("same", strides), { backend });
        const explicit = await Engine.load(conv(pads, strides), { backend });
        expect(explicit.trace(x)[2]!.preActivation).toEqual(same.trace(x)[2]!.preActivation);
        same.dispose();
        explicit.dispose();
      }
    }
  });

  it("follow docs/format.md's window rule: a binary conv evaluated by hand", async () => {
    // One 5x4 image, 1 channel, 2 filters of 3x3, stride 2, pads [2, 1, 0, 2].
    const rng = new Random(11);
    const raw = Array.from({ length: 20 }, () => rng.int(256));
    const w = Array.from({ length: 18 }, () => (rng.next() < 0.5 ? -1 : 1));
    for (const padValue of [-1, 0, 1] as const) {
      const model = scored(
        "hand",
        chain(
          [5, 4, 1],
          [
            { kind: "input", name: "input", scale: [1 / 255], offset: [-0.5] },
            { kind: "bitpack", name: "pack" },
            {
              kind: "binary_conv2d",
              name: "conv",
              weights: {
                dtype: "bits",
                shape: [2, 3, 3, 1],
                data: packSigns(Float32Array.from(w), 18, 1),
              },
              strides: [2, 2],
              padding: [2, 1, 0, 2],
              padValue,
              output: affine(rng, 2),
            },
          ],
        ),
      );
      // outH = floor((5 + 2 + 0 - 3) / 2) + 1 = 3, outW = floor((4 + 1 + 2 - 3) / 2) + 1 = 3.
      expect(model.layers[2]!.out.shape).toEqual([3, 3, 2]);
      const sign = raw.map((v) => (Math.fround(v / 255 - 0.5) >= 0 ? 1 : -1));
      const want: number[] = [];
      for (let oy = 0; oy < 3; oy++) {
        for (let ox = 0; ox < 3; ox++) {
          for (let o = 0; o < 2; o++) {
            let dot = 0;
            for (let ky = 0; ky < 3; ky++) {
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 - 2 + ky;
                const ix = ox * 2 - 1 + kx;
                const v = iy >= 0 && iy < 5 && ix >= 0 && ix < 4 ? sign[iy * 4 + ix]! : padValue;
                dot += v * w[o * 9 + ky * 3 + kx]!;
              }
            }
            want.push(dot);
          }
        }
      }
      for (const backend of ["ref", "wasm", "wasm-scalar"] as const) {
        const engine = await Engine.load(encodeModel(model), { backend });
        expect(Array.from(engine.trace(Uint8Array.from(raw))[2]!.preActivation!), backend).toEqual(want);
        engine.dispose();
      }
    }
  });

  it("are rejected when a pad is not smaller than its window, or in a 1.x file", () => {
    const model = padsModel(1);
    const stem = model.layers[1] as Extract<Layer, { kind: "float_conv2d" }>;
    stem.padding = [3, 0, 0, 0];
    expect(() => encodeModel(model)).toThrow(/pads must be 4 non-negative integers.*got \[3,0,0,0\]/);
    stem.padding = [1, 1, 1] as unknown as Padding;
    expect(() => encodeModel(model)).toThrow(/padding: expected 'valid', 'same' or 4 integers/);
  });
});
