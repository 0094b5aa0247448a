/**
 * The readable oracle of the sign GEMM (src/kernels/signGemm.ts has the formulas): plain
 * TypeScript over the heap, every float32 operation rounded with Math.fround in the
 * kernels' order.
 */
import type { Heap } from "../heap.js";

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
