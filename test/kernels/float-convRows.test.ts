/**
 * The float conv in bands of output rows (floatConvRowsJob: im2col of a band, sgemm of its
 * rows, the bias add) against im2col + sgemm + bias over the whole batch, bit for bit, for
 * every way of cutting the rows, on wasm-simd and wasm-scalar.
 */
import { describe, expect, it } from "vitest";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import { createBackend } from "../../src/kernels/index.js";
import { SCRATCH } from "../../src/kernels/threads/protocol.js";
import { type Call, invoke } from "../../src/kernels/wasm/calls.js";
import { floatConvRowsJob, rowBand } from "../../src/kernels/wasm/floatCalls.js";
import { Random } from "../../src/util/random.js";

describe("float conv in row bands", () => {
  it("rowBand keeps every window", () => {
    const g = convGeometry(1, 224, 224, 3, 7, 7, 2, 2, "same");
    expect(g.padTop).toBe(2);
    expect(rowBand(g, 0, 3)).toEqual({ g: { ...g, outH: 3 }, inOffset: 0 });
    const b = rowBand(g, 1, 5);
    expect([b.g.padTop, b.g.h, b.inOffset]).toEqual([0, 224, 0]);
    const c = rowBand(g, 10, 112);
    expect([c.g.padTop, c.g.h, c.g.outH, c.inOffset]).toEqual([0, 224 - 18, 102, 18 * 224 * 3 * 4]);
  });

  for (const kind of ["wasm-simd", "wasm-scalar"] as const) {
    it(`equals im2col + sgemm + bias over the whole batch (${kind})`, async () => {
      const backend = await createBackend(kind);
      const mod = backend.module!;
      const heap = backend.heap;
      const rng = new Random(41);
      const grid: [number, number, number, number, number, number, Padding, number, boolean][] = [
        // n, h, w, c, k, stride, padding, padValue, bias
        [1, 29, 31, 3, 7, 2, "same", 0, true],
        [2, 17, 16, 3, 3, 2, "same", 0, false],
        [2, 11, 9, 5, 3, 1, "valid", 0, true],
        [1, 12, 12, 2, 5, 3, "same", -0.5, true],
      ];
      const scratch = heap.alloc(mod.exports.float_sgemmScratchBytes());
      const run = (calls: Call[]) => {
        for (const c of calls)
          invoke(mod.exports, c.map((a) => (a === SCRATCH ? scratch : a)) as unknown as Call);
      };
      for (const [n, h, w, c, k, s, padding, padValue, withBias] of grid) {
        const g = convGeometry(n, h, w, c, k, k, s, s, padding);
        const depth = k * k * c;
        const outC = 13;
        const pixels = n * g.outH * g.outW;
        const put = (data: Float32Array) => {
          const p = heap.alloc(data.byteLength);
          heap.f32At(p, data.length).set(data);
          return p;
        };
        const x = put(Float32Array.from({ length: n * h * w * c }, () => rng.normal()));
        const wt = put(Float32Array.from({ length: outC * depth }, () => rng.normal() * 0.3));
        const bias = withBias ? put(Float32Array.from({ length: outC }, () => rng.normal())) : 0;
        const cols = heap.alloc(pixels * depth * 4);
        const want = heap.alloc(pixels * outC * 4);
        backend.float.im2col(g, x, padValue, cols);
        backend.float.sgemm(false, true, pixels, outC, depth, 1, cols, depth, wt, depth, 0, want, outC);
        if (bias) backend.float.binaryRow("add", pixels, outC, want, bias, want);
        const wantBits = heap.u32At(want, pixels * outC).slice();
        const out = heap.alloc(pixels * outC * 4);
        const job = floatConvRowsJob(g, padValue, x, wt, outC, bias, cols, out);
        const rows = n * g.outH;
        for (const cuts of [
          [0, rows],
          [0, 1, rows],
          [0, 2, 3, rows - 1, rows],
          [0, g.outH, rows],
        ]) {
          heap.f32At(out, pixels * outC).fill(Number.NaN);
          for (let i = 0; i + 1 < cuts.length; i++) run(job.part(cuts[i]!, cuts[i + 1]!));
          const got = heap.u32At(out, pixels * outC);
          expect(
            got.findIndex((v, i) => v !== wantBits[i]),
            `${kind} ${n}x${h}x${w}x${c} k${k}/${s} ${padding} cuts ${cuts}`,
          ).toBe(-1);
        }
      }
    });
  }
});
