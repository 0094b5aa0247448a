/**
 * Binary kernels (ref, wasm-simd, wasm-scalar) against float computations on +/-1 data,
 * and against each other bit for bit.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALWAYS_ON,
  type BinaryKernels,
  bconv2dScratchWords,
  bconv2dThresholdScratchWords,
  type PadValue,
  paddedConvFits,
} from "../../src/kernels/binaryTypes.js";
import { packFlags, packSigns, tailBitsClear, unpackSigns, wordsPerPixel } from "../../src/kernels/bits.js";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import { createBackend } from "../../src/kernels/index.js";
import type { Window2D } from "../../src/kernels/types.js";
import type { KernelModule } from "../../src/kernels/wasm/module.js";
import { Random } from "../../src/util/random.js";

let backends: BinaryKernels[] = [];
let modules: KernelModule[] = [];

beforeAll(async () => {
  const all = [
    await createBackend("ref"),
    await createBackend("wasm-simd"),
    await createBackend("wasm-scalar"),
  ];
  backends = all.map((b) => b.binary);
  modules = all.flatMap((b) => (b.module ? [b.module] : []));
  expect(backends.map((b) => b.name)).toEqual(["ref", "wasm-simd", "wasm-scalar"]);
});

type Typed = Float32Array | Int32Array | Uint32Array;

/** Copies data into a fresh block of the kernels' heap, filling the slack with garbage. */
function put(k: BinaryKernels, data: Typed): number {
  const ptr = k.heap.alloc(data.byteLength);
  k.heap.u8().fill(0xa5, ptr, ptr + data.byteLength + 64);
  new Uint8Array(k.heap.memory.buffer, ptr, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return ptr;
}

/** A block of `words` 32-bit words, filled with garbage so that unwritten output shows. */
function scratch(k: BinaryKernels, words: number): number {
  const ptr = k.heap.alloc(words * 4);
  k.heap.u8().fill(0x5a, ptr, ptr + words * 4);
  return ptr;
}

/** Runs fn on every backend and returns each backend's output (as raw 32-bit words). */
function onAll(outWords: number, fn: (k: BinaryKernels, out: number) => void): Uint32Array[] {
  return backends.map((k) => {
    const out = scratch(k, outWords);
    fn(k, out);
    return k.heap.u32At(out, outWords).slice();
  });
}

function expectAllEqual(results: Uint32Array[], label: string): Uint32Array {
  for (let i = 1; i < results.length; i++) {
    expect(results[i], `${label}: ${backends[i]!.name} vs ${backends[0]!.name}`).toEqual(results[0]);
  }
  return results[0]!;
}

const signs = (rng: Random, n: number) => Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1));
const i32 = (u: Uint32Array) => new Int32Array(u.buffer, u.byteOffset, u.length);

describe("binary kernels", () => {
  it("pack signs like bits.ts (0, -0 -> 1; NaN -> 0) and unpack them", () => {
    const rng = new Random(10);
    for (const c of [1, 3, 31, 32, 33, 63, 64, 65, 100, 130]) {
      const rows = 3;
      const x = Float32Array.from({ length: rows * c }, () => rng.uniform(-1, 1));
      for (let i = 0; i < x.length; i += 7) x[i] = [0, -0, Number.NaN, Infinity, -Infinity][i % 5]!;
      const words = wordsPerPixel(c);
      const bits = expectAllEqual(
        onAll(rows * words, (k, out) => k.pack(rows, c, put(k, x), out)),
        `pack c=${c}`,
      );
      expect(bits).toEqual(packSigns(x, rows, c));
      expect(tailBitsClear(bits, rows, c)).toBe(true);
      const back = expectAllEqual(
        onAll(rows * c, (k, out) => k.unpack(rows, c, put(k, bits), out)),
        `unpack c=${c}`,
      );
      expect(new Float32Array(back.buffer)).toEqual(unpackSigns(bits, rows, c));
    }
  });

  it("bgemm equals the float dot of +/-1 values (both wasm paths)", () => {
    const rng = new Random(11);
    // 270 and 288 bits are 9 words: the 3x2-tile path (461 columns cross its L1 blocks).
    for (const k of [1, 31, 32, 33, 64, 65, 100, 130, 270, 288]) {
      for (const [m, n] of [
        [1, 1],
        [2, 2],
        [3, 5],
        [5, 3],
        [7, 8],
        ...(k === 270 ? ([[4, 461]] as const) : []),
      ] as const) {
        const a = signs(rng, m * k);
        const b = signs(rng, n * k);
        const words = wordsPerPixel(k);
        const A = packSigns(a, m, k);
        const B = packSigns(b, n, k);
        const out = expectAllEqual(
          onAll(m * n, (kern, o) => kern.bgemm(m, n, words, k, put(kern, A), put(kern, B), o)),
          `bgemm ${m}x${n}x${k}`,
        );
        const want = new Int32Array(m * n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            for (let p = 0; p < k; p++) want[i * n + j]! += a[i * k + p]! * b[j * k + p]!;
          }
        }
        expect(i32(out)).toEqual(want);
        for (const mod of modules) {
          const o = mod.heap.alloc(m * n * 4);
          const pa = mod.heap.alloc(A.byteLength);
          const pb = mod.heap.alloc(B.byteLength);
          mod.heap.u32At(pa, A.length).set(A);
          mod.heap.u32At(pb, B.length).set(B);
          mod.exports.bgemmV128!(m, n, words, k, pa, pb, o);
          expect(mod.heap.i32At(o, m * n), `bgemmV128 ${mod.flavor} ${m}x${n}x${k}`).toEqual(want);
        }
      }
    }
  });

  it("bgemm stays exact past the 8-bit lane budget and across column blocks (large K)", () => {
    const rng = new Random(14);
    // K = 4700: 147 words (odd, with a tail), more than 31 v128 steps, and N = 29 spans two
    // L1 column blocks. Row 0 of A is all +1 and row 0 of B all -1: every lane counts 8 per step.
    const [m, n, k] = [5, 29, 4700];
    const words = wordsPerPixel(k);
    const a = signs(rng, m * k).fill(1, 0, k);
    const b = signs(rng, n * k).fill(-1, 0, k);
    const A = packSigns(a, m, k);
    const B = packSigns(b, n, k);
    const want = new Int32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        for (let p = 0; p < k; p++) want[i * n + j]! += a[i * k + p]! * b[j * k + p]!;
      }
    }
    expect(want[0]).toBe(-k);
    const out = expectAllEqual(
      onAll(m * n, (kern, o) => kern.bgemm(m, n, words, k, put(kern, A), put(kern, B), o)),
      "bgemm large K",
    );
    expect(i32(out)).toEqual(want);
    for (const mod of modules) {
      const o = mod.heap.alloc(m * n * 4);
      const pa = mod.heap.alloc(A.byteLength);
      const pb = mod.heap.alloc(B.byteLength);
      mod.heap.u32At(pa, A.length).set(A);
      mod.heap.u32At(pb, B.length).set(B);
      mod.exports.bgemmV128!(m, n, words, k, pa, pb, o);
      expect(mod.heap.i32At(o, m * n), `bgemmV128 ${mod.flavor} large K`).toEqual(want);
    }
  });

  it("thresholdPack gives (x >= thr) XOR flip, with constant channels", () => {
    const rng = new Random(12);
    const K = 50;
    for (const c of [1, 5, 32, 33, 70]) {
      const rows = 4;
      const x = Int32Array.from({ length: rows * c }, () => rng.int(2 * K + 1) - K);
      const thr = Int32Array.from({ length: c }, (_, j) =>
        j % 5 === 0 ? ALWAYS_ON : j % 5 === 1 ? K + 1 : rng.int(2 * K + 1) - K,
      );
      const flipFlags = Array.from({ length: c }, () => rng.next() < 0.5);
      const flip = packFlags(flipFlags, 1, c);
      const out = expectAllEqual(
        onAll(rows * wordsPerPixel(c), (k, o) =>
          k.thresholdPack(rows, c, put(k, x), put(k, thr), put(k, flip), o),
        ),
        `threshold c=${c}`,
      );
      const want = Array.from(x, (v, i) => v >= thr[i % c]! !== flipFlags[i % c]!);
      expect(out).toEqual(packFlags(want, rows, c));
      for (let r = 0; r < rows; r++) {
        expect(((out[r * wordsPerPixel(c)]! & 1) === 1) !== flipFlags[0]).toBe(true);
      }
    }
  });

  it("affine gives f32(x) * scale + bias, identical on every backend", () => {
    const rng = new Random(13);
    for (const c of [1, 3, 4, 7, 33]) {
      const rows = 3;
      const x = Int32Array.from({ length: rows * c }, () => rng.int(1001) - 500);
      const scale = Float32Array.from({ length: c }, () => rng.uniform(-2, 2));
      const bias = Float32Array.from({ length: c }, () => rng.uniform(-2, 2));
      const out = expectAllEqual(
        onAll(rows * c, (k, o) => k.affine(rows, c, put(k, x), put(k, scale), put(k, bias), o)),
        `affine c=${c}`,
      );
      const want = Float32Array.from(x, (v, i) => Math.fround(Math.fround(v) * scale[i % c]!) + bias[i % c]!);
      expect(new Float32Array(out.buffer)).toEqual(want);
    }
  });
});

/** Naive float convolution of +/-1 data, NHWC x OHWI, reading padValue outside. */
function floatConv(
  g: Window2D,
  outC: number,
  x: Float32Array,
  w: Float32Array,
  padValue: number,
): Int32Array {
  const out = new Int32Array(g.n * g.outH * g.outW * outC);
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let o = 0; o < outC; o++) {
          let acc = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            for (let kx = 0; kx < g.kw; kx++) {
              const iy = oy * g.strideH - g.padTop + ky;
              const ix = ox * g.strideW - g.padLeft + kx;
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              for (let ci = 0; ci < g.c; ci++) {
                const v = inside ? x[((b * g.h + iy) * g.w + ix) * g.c + ci]! : padValue;
                acc += v * w[((o * g.kh + ky) * g.kw + kx) * g.c + ci]!;
              }
            }
          }
          out[((b * g.outH + oy) * g.outW + ox) * outC + o] = acc;
        }
      }
    }
  }
  return out;
}

/** How the fused convs run: no scratch (direct), over a padded copy, and with tables made once. */
const CONV_MODES = ["direct", "scratch", "tables"] as const;

/** convTables' output for these weights and thresholds (0: the backend makes none). */
function tables(
  k: BinaryKernels,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  w: number,
  thr: number,
): number {
  const bytes = k.convTablesBytes(outC);
  if (!bytes) return 0;
  const at = scratch(k, Math.ceil(bytes / 4));
  k.convTables(g, padValue, outC, w, thr, at);
  return at;
}

describe("binary conv2d", () => {
  const channels = [1, 13, 32, 33, 64, 128, 130];
  // 64..512 channels take the specialized 3x3 kernel (whole 64-bit words a pixel); the
  // others, strides 2 and other kernel sizes take the general one. outC from 1 to 70
  // crosses output words, odd filter counts and (c = 512) filter blocks. With scratch, 64
  // and 128 channels with outC a multiple of 16 take the word tiles.
  const fusedGrid: [number, number, number, number, number][] = [
    // c, k, stride, outC, spatial
    [64, 3, 1, 70, 9],
    [128, 3, 1, 33, 8],
    [256, 3, 1, 5, 7],
    [512, 3, 1, 66, 5],
    [64, 3, 2, 64, 9],
    [13, 3, 1, 7, 6],
    [33, 5, 1, 31, 7],
    [130, 1, 1, 3, 4],
    [96, 3, 1, 1, 3],
    [64, 5, 2, 40, 5],
    [32, 3, 1, 64, 13],
    [64, 3, 1, 6, 1],
    // The word tiles (padded copy, 64 or 128 channels, outC a multiple of 16): odd and even
    // output widths (a lone last pixel).
    [64, 3, 1, 48, 9],
    [128, 3, 1, 32, 8],
    [64, 3, 1, 16, 6],
  ];

  it("equals a float conv on +/-1 data over channels, kernels, strides, paddings and pad values", () => {
    const rng = new Random(20);
    let cases = 0;
    for (const c of channels) {
      for (const kSize of [1, 3, 5]) {
        for (const stride of [1, 2]) {
          for (const padding of ["valid", "same"] as Padding[]) {
            const [n, h, w, outC] = [2, 7, 5 + (c % 3), 3 + (c % 4)];
            const g = convGeometry(n, h, w, c, kSize, kSize, stride, stride, padding);
            const x = signs(rng, n * h * w * c);
            const wt = signs(rng, outC * kSize * kSize * c);
            const X = packSigns(x, n * h * w, c);
            const W = packSigns(wt, outC * kSize * kSize, c);
            for (const padValue of [-1, 0, 1] as PadValue[]) {
              const label = `conv c=${c} k=${kSize} s=${stride} ${padding} pad=${padValue}`;
              const out = expectAllEqual(
                onAll(n * g.outH * g.outW * outC, (k, o) =>
                  k.conv2d(g, padValue, outC, put(k, X), put(k, W), scratch(k, bconv2dScratchWords(g)), o),
                ),
                label,
              );
              expect(i32(out), label).toEqual(floatConv(g, outC, x, wt, padValue));
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(channels.length * 3 * 2 * 2 * 3);
  });

  it("conv2dThreshold equals conv2d then thresholdPack, over the specialized and general paths", () => {
    const rng = new Random(22);
    let cases = 0;
    for (const [c, kSize, stride, outC, size] of fusedGrid) {
      for (const padding of ["valid", "same"] as Padding[]) {
        const [n, h, w] = [2, size, size + 1];
        if (padding === "valid" && h < kSize) continue; // no output (the 1-row image is for 'same')
        const g = convGeometry(n, h, w, c, kSize, kSize, stride, stride, padding);
        const x = signs(rng, n * h * w * c);
        const wt = signs(rng, outC * kSize * kSize * c);
        const X = packSigns(x, n * h * w, c);
        const W = packSigns(wt, outC * kSize * kSize, c);
        const K = kSize * kSize * c;
        const thr = Int32Array.from({ length: outC }, (_, j) =>
          j % 9 === 0 ? ALWAYS_ON : j % 9 === 1 ? K + 1 : 2 * (rng.int(K + 1) - (K >> 1)),
        );
        const flipFlags = Array.from({ length: outC }, () => rng.next() < 0.5);
        const flip = packFlags(flipFlags, 1, outC);
        for (const padValue of [-1, 0, 1] as PadValue[]) {
          // With scratch, padded 3x3 stride-1 convs run over a padded copy of the input; with
          // tables too, over the tables convTables made once.
          for (const mode of CONV_MODES) {
            const scratchWords = mode === "direct" ? 0 : bconv2dThresholdScratchWords(g, outC);
            const label = `conv2dThreshold c=${c} k=${kSize} s=${stride} outC=${outC} ${padding} pad=${padValue} ${mode}`;
            const rows = n * g.outH * g.outW;
            const bits = expectAllEqual(
              onAll(rows * wordsPerPixel(outC), (k, o) => {
                const [wp, tp] = [put(k, W), put(k, thr)];
                k.conv2dThreshold(
                  g,
                  padValue,
                  outC,
                  put(k, X),
                  wp,
                  tp,
                  put(k, flip),
                  o,
                  scratchWords ? scratch(k, scratchWords) : 0,
                  mode === "tables" ? tables(k, g, padValue, outC, wp, tp) : 0,
                );
              }),
              label,
            );
            const dots = floatConv(g, outC, x, wt, padValue);
            const want = Array.from(dots, (v, i) => v >= thr[i % outC]! !== flipFlags[i % outC]!);
            expect(bits, label).toEqual(packFlags(want, rows, outC));
            cases++;
          }
        }
      }
    }
    expect(cases).toBe((fusedGrid.length * 2 - 1) * 3 * CONV_MODES.length);
    // The padded path ran where it fits: 3x3 stride 1 'same' at 13..512 channels in whole words.
    expect(
      fusedGrid.filter(
        ([c, k, st]) => k === 3 && st === 1 && paddedConvFits(convGeometry(1, 5, 5, c, 3, 3, 1, 1, "same")),
      ).length,
    ).toBe(10);
  });

  it("conv2dAffine equals conv2d then affine, over the specialized and general paths", () => {
    const rng = new Random(23);
    let cases = 0;
    for (const [c, kSize, stride, outC, size] of fusedGrid) {
      for (const padding of ["valid", "same"] as Padding[]) {
        const [n, h, w] = [2, size, size + 1];
        if (padding === "valid" && h < kSize) continue;
        const g = convGeometry(n, h, w, c, kSize, kSize, stride, stride, padding);
        const x = signs(rng, n * h * w * c);
        const wt = signs(rng, outC * kSize * kSize * c);
        const X = packSigns(x, n * h * w, c);
        const W = packSigns(wt, outC * kSize * kSize, c);
        // Scales that round (products not representable), zero and negative ones.
        const scale = Float32Array.from({ length: outC }, (_, j) =>
          j % 7 === 0 ? 0 : (rng.next() - 0.4) * 0.37,
        );
        const bias = Float32Array.from({ length: outC }, () => (rng.next() - 0.5) * 3.1);
        for (const padValue of [-1, 0, 1] as PadValue[]) {
          for (const mode of CONV_MODES) {
            const scratchWords = mode === "direct" ? 0 : bconv2dThresholdScratchWords(g, outC);
            const label = `conv2dAffine c=${c} k=${kSize} s=${stride} outC=${outC} ${padding} pad=${padValue} ${mode}`;
            const rows = n * g.outH * g.outW;
            const out = expectAllEqual(
              onAll(rows * outC, (k, o) => {
                const wp = put(k, W);
                k.conv2dAffine(
                  g,
                  padValue,
                  outC,
                  put(k, X),
                  wp,
                  put(k, scale),
                  put(k, bias),
                  o,
                  scratchWords ? scratch(k, scratchWords) : 0,
                  0,
                  mode === "tables" ? tables(k, g, padValue, outC, wp, 0) : 0,
                );
              }),
              label,
            );
            const dots = floatConv(g, outC, x, wt, padValue);
            const want = Float32Array.from(dots, (v, i) =>
              Math.fround(Math.fround(v * scale[i % outC]!) + bias[i % outC]!),
            );
            const bits = new Uint32Array(want.buffer);
            expect(
              out.findIndex((v, i) => v !== bits[i]),
              label,
            ).toBe(-1);
            cases++;
          }
        }
      }
    }
    expect(cases).toBe((fusedGrid.length * 2 - 1) * 3 * CONV_MODES.length);
  });

  it("im2col on packed words fills padding with 0 bits or the real channel bits", () => {
    const rng = new Random(21);
    for (const c of [5, 33]) {
      const g = convGeometry(1, 3, 3, c, 3, 3, 1, 1, "same");
      const X = packSigns(signs(rng, 9 * c), 9, c);
      for (const padValue of [-1, 0, 1] as PadValue[]) {
        const cols = expectAllEqual(
          onAll(bconv2dScratchWords(g), (k, o) => k.im2col(g, padValue, put(k, X), o)),
          `im2col c=${c} pad=${padValue}`,
        );
        expect(tailBitsClear(cols, cols.length / wordsPerPixel(c), c)).toBe(true);
        // Output pixel 0, tap 0 is the top-left padding position.
        const pad = unpackSigns(cols.subarray(0, wordsPerPixel(c)), 1, c);
        expect(Array.from(pad)).toEqual(new Array(c).fill(padValue === 1 ? 1 : -1));
      }
    }
  });
});

/** Float max-pool over the in-bounds taps of +/-1 data. */
function floatMaxPool(g: Window2D, x: Float32Array): Float32Array {
  const y = new Float32Array(g.n * g.outH * g.outW * g.c).fill(-Infinity);
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.strideH - g.padTop + ky;
            const ix = ox * g.strideW - g.padLeft + kx;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            for (let ci = 0; ci < g.c; ci++) {
              const o = ((b * g.outH + oy) * g.outW + ox) * g.c + ci;
              y[o] = Math.max(y[o]!, x[((b * g.h + iy) * g.w + ix) * g.c + ci]!);
            }
          }
        }
      }
    }
  }
  return y;
}

describe("binary maxPool", () => {
  it("equals float max-pool on +/-1 data ('valid' and 'same', any kernel and stride)", () => {
    const rng = new Random(30);
    for (const c of [1, 31, 33, 70]) {
      for (const [kSize, stride] of [
        [2, 2],
        [3, 2],
        [3, 1],
        [2, 3],
      ] as const) {
        for (const padding of ["valid", "same"] as Padding[]) {
          const g = convGeometry(2, 7, 6, c, kSize, kSize, stride, stride, padding);
          // Mostly -1 so that the OR is not trivially all ones.
          const x = Float32Array.from({ length: 2 * 7 * 6 * c }, () => (rng.next() < 0.8 ? -1 : 1));
          const X = packSigns(x, 2 * 7 * 6, c);
          const rows = g.n * g.outH * g.outW;
          const y = expectAllEqual(
            onAll(rows * wordsPerPixel(c), (k, o) => k.maxPool(g, put(k, X), o)),
            `maxPool c=${c} k=${kSize} s=${stride} ${padding}`,
          );
          expect(unpackSigns(y, rows, c)).toEqual(floatMaxPool(g, x));
        }
      }
    }
  });
});
