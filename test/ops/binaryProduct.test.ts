/**
 * The binary product (ops/binaryProduct.ts): the packed XOR-popcount forward, the float
 * forward and an independent integer reference must agree bit for bit (sign of zero
 * included), on inputs with exact zeros, every pad value, channel counts that are not
 * multiples of 32, XNOR alpha (with an all-zero row: alpha 0), strides 1 and 2, 3x3 and 1x1
 * kernels, 'same' and 'valid' padding.
 * The packed path's gradients (sign GEMM) equal the float path's up to summation order.
 */
import { describe, expect, it } from "vitest";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import {
  binaryConv2d,
  binaryMatmul,
  conv2d,
  flatten,
  matmul,
  softmaxCrossEntropy,
} from "../../src/ops/index.js";
import { quantize } from "../../src/quant/op.js";
import { magnitudeAwareSign, sign } from "../../src/quant/quantizers.js";
import type { Context } from "../../src/tensor/context.js";
import { createContext } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Random } from "../../src/util/random.js";

/** Values in [-2, 2) with about 1 in 8 exact zeros (sign(0) = +1). */
function values(rng: Random, n: number): number[] {
  return Array.from({ length: n }, () => (rng.next() < 0.125 ? 0 : Math.fround(rng.uniform(-2, 2))));
}

/** Latent weights in [-1, 1] with exact zeros; with `zeroRow`, output channel 0 is all zero (alpha 0). */
function weights(rng: Random, rows: number, k: number, zeroRow: boolean): number[] {
  const w = values(rng, rows * k).map((v) => v / 2);
  if (zeroRow) w.fill(0, 0, k);
  return w;
}

const bits = (t: Tensor) => Array.from(new Uint32Array(t.toArray().buffer));

type Run = {
  y: number[];
  dx: number[];
  dw: number[];
  values: Float32Array;
  dxValues: Float32Array;
  dwValues: Float32Array;
};

function expectClose(a: Float32Array, b: Float32Array): void {
  const scale = Math.max(1, ...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThanOrEqual(1e-5 * scale);
}

/** Packed vs float path: outputs bit for bit; gradients (sign GEMM vs sgemm) to rounding. */
function expectSame(packed: Run, float: Run): void {
  expect(packed.y).toEqual(float.y);
  expectClose(packed.dxValues, float.dxValues);
  expectClose(packed.dwValues, float.dwValues);
}

function quantizedPair(
  ctx: Context,
  x: number[],
  xShape: number[],
  w: number[],
  wShape: number[],
  xnorAlpha: boolean,
) {
  const xt = ctx.parameter(ctx.fromArray(x, xShape));
  const wt = ctx.parameter(ctx.fromArray(w, wShape));
  const q = { channels: wShape[0]!, training: true };
  const xq = quantize(sign, xt, { channels: 1, training: true });
  const wq = quantize(xnorAlpha ? magnitudeAwareSign : sign, wt, q);
  return { xt, wt, xq, wq };
}

/** Float64 reference: f32(dot(sign(x), sign(w))) * f32(alpha), alpha = mean|w| per row. */
function alphaOf(w: number[], rows: number, xnorAlpha: boolean): number[] {
  const k = w.length / rows;
  return Array.from({ length: rows }, (_, o) => {
    if (!xnorAlpha) return 1;
    let s = 0;
    for (let i = o * k; i < (o + 1) * k; i++) s += Math.abs(Math.fround(w[i]!));
    return Math.fround(s / k);
  });
}
const sgn = (v: number) => (v >= 0 ? 1 : -1);

/** Runs forward and backward (seed gradient r) and returns output and gradient bits. */
function run(ctx: Context, make: () => { xt: Tensor; wt: Tensor; y: Tensor }, seed: number) {
  return ctx.tidy(() => {
    const { xt, wt, y } = make();
    const r = ctx.fromArray(values(new Random(seed), y.size), y.shape);
    y.backward(r);
    const out: Run = {
      y: bits(y),
      dx: bits(xt.grad!),
      dw: bits(wt.grad!),
      values: y.toArray(),
      dxValues: xt.grad!.toArray(),
      dwValues: wt.grad!.toArray(),
    };
    xt.dispose();
    wt.dispose();
    return out;
  });
}

describe.each(["wasm", "ref"] as const)("binaryMatmul (%s)", (kind) => {
  const shapes = [
    [5, 1, 3],
    [4, 31, 7],
    [3, 32, 40],
    [6, 33, 9],
    [2, 100, 65],
  ] as const;
  for (const [n, k, o] of shapes) {
    for (const xnorAlpha of [false, true]) {
      it(`[${n},${k}] x [${o},${k}]^T${xnorAlpha ? " with alpha" : ""}: packed = float = integer reference`, async () => {
        const ctx = await createContext(kind);
        const rng = new Random(n * 1000 + k * 10 + o);
        const x = values(rng, n * k);
        const w = weights(rng, o, k, xnorAlpha);
        const results = [true, false].map((xnor) =>
          run(
            ctx,
            () => {
              const p = quantizedPair(ctx, x, [n, k], w, [o, k], xnorAlpha);
              return { ...p, y: binaryMatmul(p.xq, p.wq, { xnor }) };
            },
            7,
          ),
        );
        expectSame(results[0]!, results[1]!);
        const alpha = alphaOf(w, o, xnorAlpha);
        const expected: number[] = [];
        for (let r = 0; r < n; r++) {
          for (let j = 0; j < o; j++) {
            let dot = 0;
            for (let i = 0; i < k; i++) dot += sgn(x[r * k + i]!) * sgn(w[j * k + i]!);
            expected.push(Math.fround(dot * alpha[j]!));
          }
        }
        expect(Array.from(results[0]!.values)).toEqual(expected);
        if (!xnorAlpha) {
          // With +/-1 weights the product is matmul's, values and gradients.
          const plain = run(
            ctx,
            () => {
              const p = quantizedPair(ctx, x, [n, k], w, [o, k], false);
              return { ...p, y: matmul(p.xq, p.wq, { transB: true }) };
            },
            7,
          );
          expect(plain).toEqual(results[1]);
        }
      });
    }
  }

  it("names the shapes when inner dimensions differ", async () => {
    const ctx = await createContext(kind);
    ctx.tidy(() => {
      expect(() => binaryMatmul(ctx.ones([2, 3]), ctx.ones([4, 5]))).toThrow(
        "binaryMatmul: weights [4,5] expect 5 inputs, xq [2,3] has 3",
      );
    });
  });
});

/** Integer reference convolution of sign(x) with sign(w), padding positions reading padValue. */
function refConv(
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  stride: number,
  padding: Padding,
  padValue: number,
  alpha: number[],
): number[] {
  const [n, h, wd, c] = xs as [number, number, number, number];
  const [o, kh, kw] = ws as [number, number, number, number];
  const g = convGeometry(n, h, wd, c, kh, kw, stride, stride, padding);
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let f = 0; f < o; f++) {
          let dot = 0;
          for (let ty = 0; ty < kh; ty++) {
            for (let tx = 0; tx < kw; tx++) {
              const iy = oy * stride - g.padTop + ty;
              const ix = ox * stride - g.padLeft + tx;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
              for (let ch = 0; ch < c; ch++) {
                const wv = sgn(w[((f * kh + ty) * kw + tx) * c + ch]!);
                dot += wv * (inside ? sgn(x[((b * h + iy) * wd + ix) * c + ch]!) : padValue);
              }
            }
          }
          out.push(Math.fround(dot * alpha[f]!));
        }
      }
    }
  }
  return out;
}

describe.each(["wasm", "ref"] as const)("binaryConv2d (%s)", (kind) => {
  const cases = [
    { xs: [2, 5, 5, 3], o: 4, kSize: 3, stride: 1, padding: "same" },
    { xs: [1, 6, 7, 33], o: 5, kSize: 3, stride: 2, padding: "same" },
    { xs: [2, 4, 4, 32], o: 3, kSize: 3, stride: 1, padding: "valid" },
    { xs: [1, 5, 4, 70], o: 33, kSize: 3, stride: 1, padding: "same" },
    { xs: [2, 3, 3, 5], o: 6, kSize: 1, stride: 1, padding: "valid" },
    { xs: [1, 4, 4, 1], o: 2, kSize: 2, stride: 2, padding: "same" },
    { xs: [2, 7, 6, 33], o: 4, kSize: 3, stride: 2, padding: "valid" },
    { xs: [1, 5, 5, 3], o: 3, kSize: 3, stride: 2, padding: "same" },
    { xs: [1, 5, 6, 40], o: 3, kSize: 1, stride: 2, padding: "valid" },
    { xs: [2, 6, 5, 3], o: 5, kSize: 1, stride: 2, padding: "same" },
    { xs: [1, 4, 5, 64], o: 2, kSize: 1, stride: 1, padding: "same" },
  ] as const;
  for (const cs of cases) {
    for (const padValue of [-1, 0, 1] as const) {
      for (const xnorAlpha of [false, true]) {
        const label = `x [${cs.xs}] -> ${cs.o}, ${cs.kSize}x${cs.kSize} stride ${cs.stride} '${cs.padding}' pad ${padValue}${xnorAlpha ? " alpha" : ""}`;
        it(`${label}: packed = float = integer reference`, async () => {
          const ctx = await createContext(kind);
          const rng = new Random(cs.xs[3] * 100 + cs.o * 10 + padValue + 5);
          const c = cs.xs[3];
          const ws = [cs.o, cs.kSize, cs.kSize, c];
          const x = values(
            rng,
            (cs.xs as readonly number[]).reduce((a, b) => a * b, 1),
          );
          const w = weights(rng, cs.o, cs.kSize * cs.kSize * c, xnorAlpha);
          const conv = { stride: cs.stride, padding: cs.padding, padValue } as const;
          const results = [true, false].map((xnor) =>
            run(
              ctx,
              () => {
                const p = quantizedPair(ctx, x, [...cs.xs], w, ws, xnorAlpha);
                return { ...p, y: binaryConv2d(p.xq, p.wq, { ...conv, xnor }) };
              },
              11,
            ),
          );
          expectSame(results[0]!, results[1]!);
          const alpha = alphaOf(w, cs.o, xnorAlpha);
          const expected = refConv(x, [...cs.xs], w, ws, cs.stride, cs.padding, padValue, alpha);
          expect(Array.from(results[0]!.values)).toEqual(expected);
          if (!xnorAlpha) {
            const plain = run(
              ctx,
              () => {
                const p = quantizedPair(ctx, x, [...cs.xs], w, ws, false);
                return { ...p, y: conv2d(p.xq, p.wq, conv) };
              },
              11,
            );
            expect(plain).toEqual(results[1]);
          }
        });
      }
    }
  }
});

describe.each(["wasm", "ref"] as const)("binary product memory (%s)", (kind) => {
  it("a training step through both products leaves the heap as step 1 left it", async () => {
    const ctx = await createContext(kind);
    const rng = new Random(9);
    const x = ctx.keep(ctx.fromArray(values(rng, 4 * 6 * 6 * 33), [4, 6, 6, 33]));
    const k1 = ctx.parameter(ctx.fromArray(weights(rng, 8, 9 * 33, false), [8, 3, 3, 33]));
    const k2 = ctx.parameter(ctx.fromArray(weights(rng, 5, 6 * 6 * 8, false), [5, 6 * 6 * 8]));
    const labels = [0, 1, 2, 4];
    const marks: number[][] = [];
    for (let step = 0; step < 5; step++) {
      ctx.tidy(() => {
        const q = (t: Tensor, channels = 1) => quantize(sign, t, { channels, training: true });
        const h = binaryConv2d(q(x), q(k1, 8), { padding: "same", padValue: 0 });
        const y = binaryMatmul(q(flatten(h)), q(k2, 5));
        softmaxCrossEntropy(y, labels).backward();
      });
      ctx.noGrad(() => {
        for (const p of [k1, k2]) {
          ctx.float.axpy(p.size, -0.1, p.grad!.ptr, p.ptr);
          p.zeroGrad();
        }
      });
      marks.push([ctx.heap.inUse, ctx.heap.reserved, ctx.heap.liveBlocks]);
    }
    expect(marks[4]).toEqual(marks[0]);
  });
});
