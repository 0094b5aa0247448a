/**
 * The readable oracle of the sign GEMM (src/kernels/signGemm.ts has the formulas): plain
 * TypeScript over the heap, every float32 operation rounded with Math.fround in the
 * kernels' order.
 */
import type { Heap } from "../heap.js";
import type { Window2D } from "../types.js";

const f = Math.fround;

export function refSignPatterns(heap: Heap, o: number, k: number, w: number, pat: number): void {
  const W = heap.f32At(w, o * k);
  const P = heap.u8();
  const chunks = (o + 7) >> 3;
  for (let c = 0; c < chunks; c++) {
    for (let j = 0; j < k; j++) {
      let b = 0;
      for (let i = 0; i < 8 && 8 * c + i < o; i++) if (W[(8 * c + i) * k + j]! >= 0) b |= 1 << i;
      P[pat + c * k + j] = b;
    }
  }
}

/**
 * pat [ceil(P/8), K] of im2col of a packed binary input xb (P = n*outH*outW pixels, K =
 * kh*kw*c, column (ky*kw + kx)*c + ci): bit i of pat[g, j] = the input bit under pixel
 * 8g + i's tap, padBit outside the image, 0 beyond P.
 */
export function refSignPatternsConv(heap: Heap, g: Window2D, padBit: 0 | 1, xb: number, pat: number): void {
  const words = (g.c + 31) >> 5;
  const X = heap.u32At(xb, g.n * g.h * g.w * words);
  const P = heap.u8();
  const pixels = g.n * g.outH * g.outW;
  const k = g.kh * g.kw * g.c;
  P.fill(0, pat, pat + ((pixels + 7) >> 3) * k);
  for (let p = 0; p < pixels; p++) {
    const b = Math.floor(p / (g.outH * g.outW));
    const oy = Math.floor(p / g.outW) % g.outH;
    const ox = p % g.outW;
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        const iy = oy * g.strideH - g.padTop + ky;
        const ix = ox * g.strideW - g.padLeft + kx;
        const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
        for (let ci = 0; ci < g.c; ci++) {
          const bit = inside
            ? (X[((b * g.h + iy) * g.w + ix) * words + (ci >> 5)]! >>> (ci & 31)) & 1
            : padBit;
          const j = (ky * g.kw + kx) * g.c + ci;
          P[pat + (p >> 3) * k + j]! |= bit << (p & 7);
        }
      }
    }
  }
}

export function refSignGemm(
  heap: Heap,
  p: number,
  o: number,
  k: number,
  dy: number,
  transDy: boolean,
  pat: number,
  out: number,
): void {
  const D = heap.f32At(dy, p * o);
  const P = heap.u8();
  const chunks = (o + 7) >> 3;
  const acc = new Float32Array(k);
  const table = new Float32Array(256);
  const d = new Float32Array(8);
  const pair = (q: number, a: number) =>
    f((a & 1 ? d[2 * q]! : -d[2 * q]!) + (a & 2 ? d[2 * q + 1]! : -d[2 * q + 1]!));
  for (let r = 0; r < p; r++) {
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < 8; i++) {
        const col = 8 * c + i;
        d[i] = col < o ? D[transDy ? col * p + r : r * o + col]! : 0;
      }
      for (let j = 0; j < 256; j++) {
        const lo = f(pair(0, j & 3) + pair(1, (j >> 2) & 3));
        const hi = f(pair(2, (j >> 4) & 3) + pair(3, j >> 6));
        table[j] = f(lo + hi);
      }
      for (let j = 0; j < k; j++) {
        const t = table[P[pat + c * k + j]!]!;
        acc[j] = c === 0 ? t : f(acc[j]! + t);
      }
    }
    heap.f32At(out, p * k).set(acc, r * k);
  }
}

/** dx += col2im(dy S) (refSignGemm, then the rows added back pixel by pixel, taps in order). */
export function refSignGemmCol2im(
  heap: Heap,
  g: Window2D,
  o: number,
  dy: number,
  pat: number,
  dx: number,
): void {
  const p = g.n * g.outH * g.outW;
  const k = g.kh * g.kw * g.c;
  const out = heap.alloc(p * k * 4);
  try {
    refSignGemm(heap, p, o, k, dy, false, pat, out);
    const cols = heap.f32At(out, p * k);
    const DX = heap.f32At(dx, g.n * g.h * g.w * g.c);
    for (let r = 0; r < p; r++) {
      const b = Math.floor(r / (g.outH * g.outW));
      const oy = Math.floor(r / g.outW) % g.outH;
      const ox = r % g.outW;
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.strideH - g.padTop + ky;
        if (iy < 0 || iy >= g.h) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.strideW - g.padLeft + kx;
          if (ix < 0 || ix >= g.w) continue;
          for (let ci = 0; ci < g.c; ci++) {
            const at = ((b * g.h + iy) * g.w + ix) * g.c + ci;
            DX[at] = f(DX[at]! + cols[r * k + (ky * g.kw + kx) * g.c + ci]!);
          }
        }
      }
    }
  } finally {
    heap.free(out);
  }
}
