/**
 * Float GEMM against a +/-1 operand held as sign bits, by table lookup ("four Russians";
 * assembly/train/signGemm.ts derives it): out [p, k] = dy [p, o] S, S [o, k] in {-1, +1}.
 * It is the input gradient of a binary layer, dX = dY sign(W), at about 1.3-2.6x the
 * float sgemm rate here. The reduction axis is cut into chunks of 8; every implementation
 * does the same float32 operations in the same order, so ref and wasm agree bit for bit:
 *   pair_q[a] = (±d_2q) + (±d_2q+1),  lo[j] = pair_0[j & 3] + pair_1[j >> 2],
 *   hi[j] = pair_2[j & 3] + pair_3[j >> 2],  T[j] = lo[j & 15] + hi[j >> 4],
 *   out = ((T_0[pat_0] + T_1[pat_1]) + T_2[pat_2]) + ...
 * (± is + where the sign bit is 1; d = 0 beyond o).
 *
 * A convolution's weight gradient takes its patterns from the packed input
 * (`convPatterns`, the im2col matrix's sign bits without a float im2col).
 *
 *     const sg = signGemmKernels(backend);
 *     sg.patterns(o, k, w, pat);                       // pat: signGemmPatternBytes(o, k)
 *     sg.gemm(p, o, k, dy, false, pat, scratch, out);  // scratch: sg.scratchBytes(k)
 */
import { geometryArgs } from "./geometry.js";
import type { Heap } from "./heap.js";
import { refSignGemm, refSignGemmCol2im, refSignPatterns, refSignPatternsConv } from "./ref/signGemm.js";
import { type Call, type KernelPool, SCRATCH } from "./threads/pool.js";
import { COST, chunksFor, splitRange } from "./threads/split.js";
import type { Window2D } from "./types.js";
import type { KernelModule } from "./wasm/module.js";

export interface SignGemmKernels {
  /** pat [ceil(o/8), k] bytes: bit i of pat[c, j] = (w[8c + i, j] >= 0), 0 beyond o; w float32 [o, k]. */
  patterns(o: number, k: number, w: number, pat: number): void;
  /**
   * float32 out [p, k] = dy [p, o] times the +/-1 matrix of `pat` (overwritten); with
   * `transDy` dy is stored transposed, [o, p] (a weight gradient dW = dY^T sign(X)).
   */
  gemm(
    p: number,
    o: number,
    k: number,
    dy: number,
    transDy: boolean,
    pat: number,
    scratch: number,
    out: number,
  ): void;
  /** Scratch bytes `gemm` needs for output width k. */
  scratchBytes(k: number): number;
  /**
   * dx [n, h, w, c] += col2im(dy S) for a convolution of geometry g: the input gradient
   * from dy [P, o] (P = n*outH*outW) and the weights' patterns pat [ceil(o/8), K], without
   * storing dcols; the same values and additions as `gemm` then col2im. scratch:
   * `scratchBytes(K)`.
   */
  gemmCol2im(g: Window2D, o: number, dy: number, pat: number, scratch: number, dx: number): void;
  /**
   * pat [ceil(P/8), K] of the im2col matrix of a binary input, from its packed bits xb
   * [n*h*w, ceil(c/32)] words (P = n*outH*outW, K = kh*kw*c); positions outside the
   * image read padBit (1 = +1, 0 = -1). Equals `patterns(P, K, im2col(x))`.
   */
  convPatterns(g: Window2D, padBit: 0 | 1, xb: number, pat: number): void;
}

/** Bytes of the pattern matrix for a sign matrix [o, k]. */
export function signGemmPatternBytes(o: number, k: number): number {
  return ((o + 7) >> 3) * k;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function checkCounts(values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`signGemm: ${name} must be a non-negative integer, got ${v}`);
  }
}

const cache = new WeakMap<object, SignGemmKernels>();

/**
 * The sign-GEMM kernels of a backend: the WebAssembly ones when it has a kernel module
 * that exports them, else the TypeScript reference on its heap.
 */
export function signGemmKernels(backend: {
  heap: Heap;
  module?: KernelModule;
  pool?: KernelPool;
}): SignGemmKernels {
  let k = cache.get(backend);
  if (!k) {
    k = createSignGemmKernels(backend.heap, backend.module, backend.pool);
    cache.set(backend, k);
  }
  return k;
}

function createSignGemmKernels(
  heap: Heap,
  mod: KernelModule | undefined,
  pool?: KernelPool,
): SignGemmKernels {
  // A kernel module has every export (loadKernelModule checks them); without one, the reference runs.
  const wasm = mod?.exports ?? null;
  return {
    patterns(o, k, w, pat) {
      checkCounts({ o, k });
      if (wasm) wasm.signPatterns(o, k, w, pat);
      else refSignPatterns(heap, o, k, w, pat);
    },
    gemm(p, o, k, dy, transDy, pat, scratch, out) {
      checkCounts({ p, o, k });
      // dy's rows are o floats apart, or (transposed) its columns p floats apart.
      const ld = transDy ? p : o;
      const t = transDy ? 1 : 0;
      // On threads: rows of out are independent (each row's tables come from its own dy
      // row), so blocks of rows split exactly; in 8s, the rows one table set serves.
      const chunks = wasm && pool ? chunksFor(pool.threads, (p * o * k) / (2 * COST.sgemmMacs)) : 1;
      if (chunks >= 2 && pool && wasm!.signGemmScratchBytes(k) <= pool.scratchBytes) {
        pool.run(
          splitRange(p, chunks, 8).map(([s0, s1]): Call[] => [
            [
              "signGemm",
              s1 - s0,
              o,
              k,
              dy + (transDy ? s0 : s0 * o) * 4,
              ld,
              t,
              pat,
              SCRATCH,
              out + s0 * k * 4,
            ],
          ]),
        );
      } else if (wasm) wasm.signGemm(p, o, k, dy, ld, t, pat, scratch, out);
      else refSignGemm(heap, p, o, k, dy, transDy, pat, out);
    },
    scratchBytes: (k) => (wasm ? wasm.signGemmScratchBytes(k) : 0),
    gemmCol2im(g, o, dy, pat, scratch, dx) {
      const p = g.n * g.outH * g.outW;
      const k = g.kh * g.kw * g.c;
      checkCounts({ p, o, k });
      if (!wasm) return refSignGemmCol2im(heap, g, o, dy, pat, dx);
      const geo = heap.alloc(48);
      try {
        heap.i32At(geo, 12).set(geometryArgs(g));
        // Blocks of whole images (windows never cross images, so no two threads add into
        // one dx element) that are also whole groups of 8 rows (one table set).
        const perImage = g.outH * g.outW;
        const unit = (perImage * 8) / gcd(perImage, 8);
        const chunks = pool ? chunksFor(pool.threads, (p * o * k) / (2 * COST.sgemmMacs)) : 1;
        if (chunks >= 2 && pool && wasm.signGemmScratchBytes(k) <= pool.scratchBytes && p >= 2 * unit) {
          pool.run(
            splitRange(p, chunks, unit).map(([s0, s1]): Call[] => [
              ["signGemmCol2im", s1 - s0, o, k, dy + s0 * o * 4, o, pat, SCRATCH, geo, s0, dx],
            ]),
          );
        } else wasm.signGemmCol2im(p, o, k, dy, o, pat, scratch, geo, 0, dx);
      } finally {
        heap.free(geo);
      }
    },
    convPatterns(g, padBit, xb, pat) {
      if (!wasm) return refSignPatternsConv(heap, g, padBit, xb, pat);
      const geometry = geometryArgs(g);
      const rows = (g.n * g.outH * g.outW + 7) >> 3;
      // Rows of 8 pixels are independent: blocks of them split exactly. About 2.5 bytes of
      // work per pattern byte.
      const chunks = pool ? chunksFor(pool.threads, (rows * g.kh * g.kw * g.c * 2.5) / COST.bytes) : 1;
      if (chunks >= 2 && pool) {
        pool.run(
          splitRange(rows, chunks, 8).map(([g0, g1]): Call[] => [
            ["signPatternsConv", ...geometry, xb, padBit, pat, g0, g1, SCRATCH],
          ]),
        );
        return;
      }
      const scratch = heap.alloc(wasm.signPatternsConvScratchBytes());
      try {
        wasm.signPatternsConv(...geometry, xb, padBit, pat, 0, rows, scratch);
      } finally {
        heap.free(scratch);
      }
    },
  };
}
