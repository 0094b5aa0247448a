/**
 * The sign GEMM (src/kernels/signGemm.ts): the TypeScript oracle, the SIMD and the scalar
 * WebAssembly builds must agree bit for bit on a grid of shapes (rows not a multiple of
 * 4, reduction lengths not a multiple of 8, widths not a multiple of 4 or 16, exact zeros),
 * and equal the float64 product dy S up to float32 rounding.
 */
import { describe, expect, it } from "vitest";
import { type Backend, convGeometry, createBackend } from "../../src/kernels/index.js";
import { signGemmKernels, signGemmPatternBytes } from "../../src/kernels/signGemm.js";
import { Random } from "../../src/util/random.js";

const kinds = ["ref", "wasm-simd", "wasm-scalar"] as const;

function data(rng: Random, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() < 0.1 ? 0 : rng.uniform(-2, 2)));
}

function run(b: Backend, p: number, o: number, k: number, dy: Float32Array, w: Float32Array, trans = false) {
  const sg = signGemmKernels(b);
  const h = b.heap;
  const pd = h.alloc(p * o * 4);
  const pw = h.alloc(o * k * 4);
  const pat = h.alloc(signGemmPatternBytes(o, k));
  const scratch = h.alloc(sg.scratchBytes(k));
  const out = h.alloc(p * k * 4);
  h.f32At(pd, p * o).set(dy);
  h.f32At(pw, o * k).set(w);
  sg.patterns(o, k, pw, pat);
  sg.gemm(p, o, k, pd, trans, pat, scratch, out);
  const result = {
    patterns: Array.from(h.u8().subarray(pat, pat + signGemmPatternBytes(o, k))),
    out: h.f32At(out, p * k).slice(),
  };
  for (const q of [pd, pw, pat, scratch, out]) h.free(q);
  return result;
}

describe("sign GEMM", async () => {
  const backends = await Promise.all(kinds.map((k) => createBackend(k)));
  const shapes = [
    [1, 1, 1],
    [3, 7, 5],
    [4, 8, 16],
    [5, 9, 17],
    [9, 64, 36],
    [6, 70, 33],
    [2, 130, 3],
    [13, 16, 100],
    [9, 20, 515], // wide outputs: full 256-entry tables (narrow ones add lo + hi per lookup)
    [4, 8, 512],
    [12, 24, 20], // whole 4-row lane groups and 8-column chunks: the transposing gather/scatter
    [17, 40, 291],
  ] as const;
  for (const [p, o, k] of shapes) {
    it(`[${p},${o}] x S[${o},${k}]: ref = simd = scalar, and the float64 product to rounding`, () => {
      const rng = new Random(p * 10007 + o * 101 + k);
      const dy = data(rng, p * o);
      const w = data(rng, o * k);
      const [ref, simd, scalar] = backends.map((b) => run(b, p, o, k, dy, w));
      expect(simd!.patterns).toEqual(ref!.patterns);
      expect(scalar!.patterns).toEqual(ref!.patterns);
      expect(Array.from(new Uint32Array(simd!.out.buffer))).toEqual(
        Array.from(new Uint32Array(ref!.out.buffer)),
      );
      expect(Array.from(new Uint32Array(scalar!.out.buffer))).toEqual(
        Array.from(new Uint32Array(ref!.out.buffer)),
      );
      for (let r = 0; r < p; r++) {
        for (let j = 0; j < k; j++) {
          let s = 0;
          let mag = 0;
          for (let i = 0; i < o; i++) {
            s += dy[r * o + i]! * (w[i * k + j]! >= 0 ? 1 : -1);
            mag += Math.abs(dy[r * o + i]!);
          }
          expect(Math.abs(ref!.out[r * k + j]! - s)).toBeLessThanOrEqual(
            4e-7 * Math.max(mag, 1e-30) * Math.log2(o + 2),
          );
        }
      }
    });
  }

  for (const [p, o, k] of [
    [3, 7, 5],
    [4, 9, 17],
    [6, 20, 8],
  ] as const) {
    it(`transposed dy [${o},${p}]: ref = simd = scalar = the untransposed product`, () => {
      const rng = new Random(p + 7 * o + 31 * k);
      const dy = data(rng, p * o);
      const dyT = new Float32Array(p * o);
      for (let r = 0; r < p; r++) for (let i = 0; i < o; i++) dyT[i * p + r] = dy[r * o + i]!;
      const w = data(rng, o * k);
      const plain = run(backends[0]!, p, o, k, dy, w).out;
      for (const b of backends) {
        const t = run(b, p, o, k, dyT, w, true).out;
        expect(Array.from(new Uint32Array(t.buffer))).toEqual(Array.from(new Uint32Array(plain.buffer)));
      }
    });
  }

  it("transposed dy split by rows (threads): a block of rows is a pointer offset", async () => {
    const two = await createBackend("wasm", { threads: 2 });
    try {
      const [p, o, k] = [4096, 64, 288];
      const rng = new Random(77);
      const dy = data(rng, p * o);
      const dyT = new Float32Array(p * o);
      for (let r = 0; r < p; r++) for (let i = 0; i < o; i++) dyT[i * p + r] = dy[r * o + i]!;
      const w = data(rng, o * k);
      const one = run(backends[1]!, p, o, k, dyT, w, true).out;
      const split = run(two, p, o, k, dyT, w, true).out;
      expect(Buffer.from(split.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    } finally {
      await two.close?.();
    }
  });

  // [n, h, w, c, kh, kw, stride, padding]
  const convs = [
    [1, 3, 3, 1, 3, 3, 1, "same"],
    [2, 5, 4, 32, 3, 3, 1, "same"],
    [1, 6, 7, 33, 3, 3, 2, "same"],
    [3, 7, 5, 64, 3, 3, 1, "valid"],
    [1, 5, 5, 70, 5, 5, 1, "same"],
    [2, 4, 4, 8, 1, 1, 1, "valid"],
    [1, 9, 9, 130, 3, 2, 2, "valid"],
  ] as const;
  for (const [n, h, w, c, kh, kw, stride, padding] of convs) {
    it(`conv patterns from packed bits ${n}x${h}x${w}x${c} k${kh}x${kw} s${stride} ${padding}: ref = simd = scalar = patterns(im2col)`, () => {
      const g = convGeometry(n, h, w, c, kh, kw, stride, stride, padding);
      const pixels = n * g.outH * g.outW;
      const k = kh * kw * c;
      const rng = new Random(n * 1000 + h * 100 + c);
      const x = Float32Array.from({ length: n * h * w * c }, () => (rng.next() < 0.5 ? 1 : -1));
      for (const padBit of [0, 1] as const) {
        const results = backends.map((b) => {
          const heap = b.heap;
          const sg = signGemmKernels(b);
          const px = heap.alloc(x.byteLength);
          heap.f32At(px, x.length).set(x);
          const words = (c + 31) >> 5;
          const xb = heap.alloc(n * h * w * words * 4);
          b.binary.pack(n * h * w, c, px, xb);
          const bytes = signGemmPatternBytes(pixels, k);
          const pat = heap.alloc(bytes);
          heap.u8().fill(0xa5, pat, pat + bytes);
          sg.convPatterns(g, padBit, xb, pat);
          const fromBits = Array.from(heap.u8().subarray(pat, pat + bytes));
          const cols = heap.alloc(pixels * k * 4);
          b.float.im2col(g, px, padBit ? 1 : -1, cols);
          sg.patterns(pixels, k, cols, pat);
          const fromFloats = Array.from(heap.u8().subarray(pat, pat + bytes));
          for (const q of [px, xb, pat, cols]) heap.free(q);
          return { fromBits, fromFloats };
        });
        for (const r of results) {
          expect(r.fromBits).toEqual(results[0]!.fromFloats);
          expect(r.fromFloats).toEqual(results[0]!.fromFloats);
        }
      }
    });
  }

  for (const [n, h, w, c, kh, kw, stride, padding] of convs) {
    it(`input gradient with col2im fused ${n}x${h}x${w}x${c} k${kh}x${kw} s${stride} ${padding}: = gemm then col2im, ref = simd = scalar`, () => {
      const g = convGeometry(n, h, w, c, kh, kw, stride, stride, padding);
      const pixels = n * g.outH * g.outW;
      const k = kh * kw * c;
      const o = 11;
      const rng = new Random(n * 1000 + h * 100 + c + 5);
      const dy = data(rng, pixels * o);
      const wts = data(rng, o * k);
      const dx0 = data(rng, n * h * w * c);
      const results = backends.map((b) => {
        const heap = b.heap;
        const sg = signGemmKernels(b);
        const pd = heap.alloc(dy.byteLength);
        heap.f32At(pd, dy.length).set(dy);
        const pw = heap.alloc(wts.byteLength);
        heap.f32At(pw, wts.length).set(wts);
        const pat = heap.alloc(signGemmPatternBytes(o, k));
        sg.patterns(o, k, pw, pat);
        const scratch = heap.alloc(sg.scratchBytes(k));
        const fused = heap.alloc(dx0.byteLength);
        heap.f32At(fused, dx0.length).set(dx0);
        sg.gemmCol2im(g, o, pd, pat, scratch, fused);
        const dcols = heap.alloc(pixels * k * 4);
        sg.gemm(pixels, o, k, pd, false, pat, scratch, dcols);
        const plain = heap.alloc(dx0.byteLength);
        heap.f32At(plain, dx0.length).set(dx0);
        b.float.col2im(g, dcols, plain);
        const out = {
          fused: heap.f32At(fused, dx0.length).slice(),
          plain: heap.f32At(plain, dx0.length).slice(),
        };
        for (const q of [pd, pw, pat, scratch, fused, dcols, plain]) heap.free(q);
        return out;
      });
      const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer));
      for (const r of results) {
        expect(bits(r.fused)).toEqual(bits(r.plain));
        expect(bits(r.fused)).toEqual(bits(results[0]!.fused));
      }
    });
  }

  it("patterns: bit = w >= 0 (sign(0) = +1, -0 too), NaN gives 0, bits beyond o are 0", () => {
    const w = new Float32Array([0, -0, Number.NaN, -1, 2, -3, 0.5, -0.5, 1, 7]); // o = 10, k = 1
    for (const b of backends) {
      expect(run(b, 1, 10, 1, new Float32Array(10), w).patterns).toEqual([0b01010011, 0b11]);
    }
  });

  it("rejects negative or fractional sizes, naming the kernel", () => {
    const sg = signGemmKernels(backends[1]!);
    expect(() => sg.gemm(2, -1, 3, 0, false, 0, 0, 0)).toThrow(
      "signGemm: o must be a non-negative integer, got -1",
    );
  });
});
