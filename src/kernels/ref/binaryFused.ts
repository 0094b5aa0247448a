/**
 * The fused float first layer (assembly/binary/fused.ts), in plain TypeScript: float conv
 * -> optional max pool -> optional eval batch norm -> sign, packed bits; and the same
 * float conv alone (floatConv), float output. Every value is
 * rounded as the unfused engine layers round it (conv: sum over p = 0..K-1 in order of
 * fround(patch[p] * w[p, o]), from 0, then + bias; pool: first maximum; batch norm:
 * ((y - mean) * invStd) * gamma + beta; bit = y >= 0).
 */
import type { Heap } from "../heap.js";
import type { Window2D } from "../types.js";

const f = Math.fround;

/** Per-channel eval batch norm vectors (pointers to float32 [outC]). */
export interface FusedBatchNorm {
  mean: number;
  invStd: number;
  gamma: number;
  beta: number;
}

export interface FusedFirstLayerKernels {
  /**
   * out [n, pool.outH, pool.outW, ceil(outC/32)] bits of sign(bn(maxpool(conv(x) + bias))),
   * with conv geometry g, weights wT [K, outC] (K = kh*kw*c, im2col order), `pool` over the
   * conv output (a 1x1 stride-1 window for none), `bias` 0 for none, `bn` null for none.
   * scratch: fusedScratchBytes(g, outC) bytes.
   */
  floatConvPack(
    g: Window2D,
    x: number,
    outC: number,
    wT: number,
    bias: number,
    padValue: number,
    pool: Window2D,
    bn: FusedBatchNorm | null,
    out: number,
    scratch: number,
  ): void;

  /**
   * out [n, outH, outW, outC] float32 = conv(x) + bias (bias 0: none), the conv summed as in
   * floatConvPack: bit for bit what im2col, sgemm and the bias add give while K =
   * kh*kw*c <= 384 (one sgemm depth block). wT as for floatConvPack; scratch:
   * fusedScratchBytes(g, outC) bytes.
   */
  floatConv(
    g: Window2D,
    x: number,
    outC: number,
    wT: number,
    bias: number,
    padValue: number,
    out: number,
    scratch: number,
  ): void;
}

/**
 * The deepest conv (K = kh * kw * c) these kernels run: the sgemm's depth block
 * (assembly/float/gemm.ts KC), up to which its sums run in the kernels' order.
 */
export const FUSED_MAX_DEPTH = 384;

/** Two patches of K + 4 floats and outC floats of maxima, with room to align the latter to 16 bytes. */
export function fusedScratchBytes(g: Window2D, outC: number): number {
  return (2 * (g.kh * g.kw * g.c + 4) + outC + 4) * 4;
}

/** conv(x) + bias at output pixel (b, cy, cx) into y [outC], summed in the kernels' order; patch: K floats. */
function convPixel(
  g: Window2D,
  X: Float32Array,
  W: Float32Array,
  B: Float32Array | null,
  padValue: number,
  outC: number,
  b: number,
  cy: number,
  cx: number,
  patch: Float32Array,
  y: Float32Array,
): void {
  let q = 0;
  for (let ky = 0; ky < g.kh; ky++) {
    const iy = cy * g.strideH - g.padTop + ky;
    for (let kx = 0; kx < g.kw; kx++) {
      const ix = cx * g.strideW - g.padLeft + kx;
      const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
      for (let ci = 0; ci < g.c; ci++) {
        patch[q++] = inside ? X[((b * g.h + iy) * g.w + ix) * g.c + ci]! : padValue;
      }
    }
  }
  for (let o = 0; o < outC; o++) {
    let s = 0;
    for (let p = 0; p < patch.length; p++) s = f(s + f(patch[p]! * W[p * outC + o]!));
    y[o] = B ? f(s + B[o]!) : s;
  }
}

export function createRefFusedKernels(heap: Heap): FusedFirstLayerKernels {
  return {
    floatConv(g, x, outC, wT, bias, padValue, out) {
      const k = g.kh * g.kw * g.c;
      const X = heap.f32At(x, g.n * g.h * g.w * g.c);
      const W = heap.f32At(wT, k * outC);
      const B = bias ? heap.f32At(bias, outC) : null;
      const patch = new Float32Array(k);
      for (let b = 0; b < g.n; b++) {
        for (let cy = 0; cy < g.outH; cy++) {
          for (let cx = 0; cx < g.outW; cx++) {
            const at = ((b * g.outH + cy) * g.outW + cx) * outC;
            convPixel(g, X, W, B, padValue, outC, b, cy, cx, patch, heap.f32At(out + at * 4, outC));
          }
        }
      }
    },
    floatConvPack(g, x, outC, wT, bias, padValue, pool, bn, out) {
      const k = g.kh * g.kw * g.c;
      const X = heap.f32At(x, g.n * g.h * g.w * g.c);
      const W = heap.f32At(wT, k * outC);
      const B = bias ? heap.f32At(bias, outC) : null;
      const vec = (p: number) => (p ? heap.f32At(p, outC) : null);
      const [M, S, G, Be] = bn ? [bn.mean, bn.invStd, bn.gamma, bn.beta].map(vec) : [null, null, null, null];
      const words = (outC + 31) >>> 5;
      const O = heap.u32At(out, g.n * pool.outH * pool.outW * words);
      const patch = new Float32Array(k);
      const y = new Float32Array(outC);
      const best = new Float32Array(outC);
      for (let b = 0; b < g.n; b++) {
        for (let py = 0; py < pool.outH; py++) {
          for (let px = 0; px < pool.outW; px++) {
            let first = true;
            for (let ty = 0; ty < pool.kh; ty++) {
              const cy = py * pool.strideH - pool.padTop + ty;
              if (cy < 0 || cy >= g.outH) continue;
              for (let tx = 0; tx < pool.kw; tx++) {
                const cx = px * pool.strideW - pool.padLeft + tx;
                if (cx < 0 || cx >= g.outW) continue;
                convPixel(g, X, W, B, padValue, outC, b, cy, cx, patch, y);
                for (let o = 0; o < outC; o++) {
                  if (first || y[o]! > best[o]!) best[o] = y[o]!;
                }
                first = false;
              }
            }
            const base = ((b * pool.outH + py) * pool.outW + px) * words;
            for (let o = 0; o < outC; o++) {
              let y = best[o]!;
              if (M) y = f(f(G![o]! * f(f(y - M[o]!) * S![o]!)) + Be![o]!);
              if (o % 32 === 0) O[base + (o >>> 5)] = 0;
              if (y >= 0) O[base + (o >>> 5)]! |= 1 << (o & 31);
            }
          }
        }
      }
    },
  };
}
