/**
 * The direct float conv (floatConvRows, FusedFirstLayerKernels.floatConv): on wasm-simd,
 * wasm-scalar, 2 threads and the TypeScript reference, bit for bit what im2col + sgemm +
 * the bias add give, for depths up to the sgemm's block of 384 (the stems of QuickNet,
 * 3x3x3, and Bi-Real, 7x7x3), strides 1 and 2, padding inside and at the border.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import { type Backend, createBackend } from "../../src/kernels/index.js";
import { createRefFusedKernels, fusedScratchBytes } from "../../src/kernels/ref/binaryFused.js";
import { createWasmFusedKernels } from "../../src/kernels/wasm/binaryFused.js";
import { Random } from "../../src/util/random.js";

let backends: Backend[] = [];
beforeAll(async () => {
  backends = [
    await createBackend("wasm-simd"),
    await createBackend("wasm-scalar"),
    await createBackend("wasm-simd", { threads: 2 }),
    await createBackend("ref"),
  ];
});
afterAll(async () => {
  for (const b of backends) await b.close?.();
});

describe("direct float conv", () => {
  // n, h, w, c, k, stride, padding, padValue, outC, bias
  const grid: [number, number, number, number, number, number, Padding, number, number, boolean][] = [
    [1, 224, 224, 3, 3, 2, "same", 0, 16, true], // QuickNet's stem (split over rows on 2 threads)
    [1, 23, 24, 3, 7, 2, "same", 0, 64, false], // Bi-Real's stem (odd and even sides)
    [2, 9, 11, 5, 3, 1, "valid", 0, 13, true], // channels not a multiple of 4
    [2, 12, 12, 8, 3, 1, "same", -0.5, 40, true], // a pad value
    [1, 10, 10, 42, 3, 1, "same", 1, 20, false], // K = 378, just under a depth block
    [3, 7, 8, 1, 5, 1, "same", 0, 33, true], // one input channel, a lone last pixel
  ];
  it.each(grid)(
    "n %i, %ix%ix%i, kernel %i stride %i %s, pad %d, %i filters",
    (n, h, w, c, k, s, padding, padValue, outC, withBias) => {
      const rng = new Random(h * 131 + c);
      const g = convGeometry(n, h, w, c, k, k, s, s, padding);
      const depth = k * k * c;
      const pixels = n * g.outH * g.outW;
      const X = Float32Array.from({ length: n * h * w * c }, () => rng.normal());
      const W = Float32Array.from({ length: outC * depth }, () => rng.normal() * 0.3);
      const WT = new Float32Array(depth * outC);
      for (let o = 0; o < outC; o++) for (let p = 0; p < depth; p++) WT[p * outC + o] = W[o * depth + p]!;
      const B = Float32Array.from({ length: outC }, () => rng.normal());
      const results = backends.map((b) => {
        const heap = b.heap;
        const put = (data: Float32Array) => {
          const p = heap.alloc(data.byteLength);
          heap.f32At(p, data.length).set(data);
          return p;
        };
        const [x, wt, wT] = [put(X), put(W), put(WT)];
        const bias = withBias ? put(B) : 0;
        const cols = heap.alloc(pixels * depth * 4);
        const want = heap.alloc(pixels * outC * 4);
        b.float.im2col(g, x, padValue, cols);
        b.float.sgemm(false, true, pixels, outC, depth, 1, cols, depth, wt, depth, 0, want, outC);
        if (bias) b.float.binaryRow("add", pixels, outC, want, bias, want);
        const out = heap.alloc(pixels * outC * 4);
        heap.f32At(out, pixels * outC).fill(Number.NaN);
        const fused = b.module ? createWasmFusedKernels(b.module, b.pool) : createRefFusedKernels(heap);
        fused.floatConv(g, x, outC, wT, bias, padValue, out, heap.alloc(fusedScratchBytes(g, outC)));
        return {
          name: b.name,
          want: new Uint32Array(heap.f32At(want, pixels * outC).slice().buffer),
          got: new Uint32Array(heap.f32At(out, pixels * outC).slice().buffer),
        };
      });
      for (const r of results) {
        // The reference backend's sgemm sums in its own order; its floatConv follows the kernels'.
        if (r.name !== "ref") {
          expect(
            r.got.findIndex((v, i) => v !== r.want[i]),
            `${r.name}: first value that differs from im2col + sgemm + bias`,
          ).toBe(-1);
        }
        expect(r.got, `${r.name} against wasm-simd`).toEqual(results[0]!.got);
      }
    },
  );
});
