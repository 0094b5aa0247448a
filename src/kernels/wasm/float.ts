/**
 * The WebAssembly float kernels: thin wrappers that do the shape arithmetic and argument
 * checks in TypeScript and pass numbers and pointers to the module's `float_*` exports
 * (assembly/float/). Op names become integer codes here. sgemm's packing scratch and the
 * reductions' float64 accumulators are allocated once per kernel set, from the same heap.
 *
 * With a thread pool (src/kernels/threads), large jobs are split into parts that each
 * thread computes whole: sgemm over blocks of output rows or columns (never over k),
 * im2col / col2im / average pooling over images, elementwise kernels over aligned spans,
 * batch norm and row broadcasts over rows. Every output element is computed by one thread
 * in the same order as without the pool, so results are bit-identical for any thread
 * count. Reductions run on the calling thread. Each thread has its own sgemm scratch
 * (the pool's, named by the SCRATCH argument).
 */

import { type GeometryArgs, geometryArgs } from "../geometry.js";
import type { Heap } from "../heap.js";
import { type Call, type KernelPool, SCRATCH } from "../threads/pool.js";
import { COST, chunksFor, splitRange } from "../threads/split.js";
import type { BinaryOp, FloatKernels, UnaryOp, Window2D } from "../types.js";
import { type Runner, runJob } from "./calls.js";
import { batchNormForwardJob, depthwiseJob, rowBand } from "./floatCalls.js";
import { backendName, type KernelModule } from "./module.js";

/** Integer codes of the binary ops; must match assembly/float/elementwise.ts. */
export const BINARY_OP_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5 };

/** Integer codes of the unary ops; must match assembly/float/elementwise.ts. */
export const UNARY_OP_CODES: Record<UnaryOp, number> = {
  relu: 0,
  hardtanh: 1,
  sign: 2,
  neg: 3,
  abs: 4,
  square: 5,
  sqrt: 6,
  exp: 7,
  log: 8,
  approx_sign: 9,
};

function code<T extends string>(codes: Record<T, number>, op: T, what: string): number {
  const c = codes[op];
  if (c === undefined) throw new RangeError(`${what}: unknown op '${op}' (${Object.keys(codes).join(", ")})`);
  return c;
}

function checkGemm(transA: boolean, transB: boolean, m: number, n: number, k: number, lds: number[]): void {
  const [lda, ldb, ldc] = lds as [number, number, number];
  const needA = transA ? m : k;
  const needB = transB ? k : n;
  if (lda < Math.max(needA, 1) || ldb < Math.max(needB, 1) || ldc < Math.max(n, 1)) {
    throw new RangeError(
      `sgemm: leading dimensions too small: lda ${lda} (need >= ${needA}), ldb ${ldb} (need >= ${needB}), ldc ${ldc} (need >= ${n})`,
    );
  }
  if (!(m >= 0 && n >= 0 && k >= 0)) throw new RangeError(`sgemm: bad sizes m ${m}, n ${n}, k ${k}`);
}

/** sgemm's register tile and column block (assembly/float/gemm.ts). */
const MR = 5;
const NR = 8;
const NC = 256;
/** The largest k + n + 4 that sgemm's one-row case runs as a matrix-vector product (assembly/float/gemm.ts: KC * NC). */
const GEMV_FLOATS = 384 * NC;
/** sgemm's column block for n columns (assembly/float/gemm.ts blockSize(n, NC, NR)). */
function columnBlock(n: number): number {
  const blocks = Math.ceil(n / NC);
  return Math.min(Math.ceil(Math.ceil(n / blocks) / NR) * NR, NC);
}
/** Elementwise spans start at multiples of 16 floats (64 bytes): every SIMD loop lines up as on one thread. */
const SPAN = 16;

/** The float kernels of a loaded kernel module, split across `pool`'s threads when given. */
export function createWasmFloatKernels(module: KernelModule, pool?: KernelPool): FloatKernels {
  // loadKernelModule checked every export against assembly/'s declarations.
  const e = module.exports;
  const heap: Heap = module.heap;
  // Scratch lives as long as the kernel set and is taken up front, so that it never shows
  // up as a block allocated (or leaked) by whatever op first calls sgemm.
  const scratch = heap.alloc(e.float_sgemmScratchBytes());
  const threads = pool?.threads ?? 1;
  const slow = module.flavor === "scalar" ? COST.scalarFactor : 1;
  const runner: Runner = { exports: e, pool, slowdown: slow };

  /**
   * Runs `call` over parts of [0, total) (starts aligned to `unit`) on the pool when the
   * job (`micros`, one-thread estimate) is worth it; false when the caller should run it whole.
   */
  const spread = (
    micros: number,
    total: number,
    unit: number,
    call: (start: number, end: number) => Call,
  ): boolean => {
    if (!pool) return false;
    const chunks = chunksFor(threads, micros * slow);
    if (chunks < 2) return false;
    const ranges = splitRange(total, chunks, unit);
    if (ranges.length < 2) return false;
    pool.run(ranges.map(([start, end]) => [call(start, end)]));
    return true;
  };
  const streamed = (elements: number, bytesPerElement: number) => (elements * bytesPerElement) / COST.bytes;
  const elementwise = (n: number, bytesPerElement: number, call: (start: number, count: number) => Call) =>
    spread(streamed(n, bytesPerElement), n, SPAN, (s, end) => call(s, end - s));
  /** Window ops over images: g restricted to images [s, end), with per-image strides in bytes. */
  const overImages = (
    g: Window2D,
    bytes: number,
    call: (sub: GeometryArgs, start: number) => Call,
  ): boolean =>
    g.n >= 2 && spread(streamed(bytes, 1), g.n, 1, (s, end) => call(geometryArgs({ ...g, n: end - s }), s));
  /**
   * Window ops on one image: g restricted to blocks of output rows (rowBand: the same
   * windows), with the input's byte offset of the block and its first output row.
   */
  const overRows = (
    g: Window2D,
    bytes: number,
    call: (sub: GeometryArgs, inOffset: number, r0: number) => Call,
  ): boolean =>
    g.n === 1 &&
    spread(streamed(bytes, 1), g.outH, 1, (r0, r1) => {
      const band = rowBand(g, r0, r1);
      return call(geometryArgs(band.g), band.inOffset, r0);
    });
  /**
   * Column reductions over rows: split into blocks of whole columns (16 floats, one cache
   * line, so no two threads write one line), each summing its columns in row order as on
   * one thread; `bytesPerElement` is the job's memory traffic for the cost estimate.
   */
  const overColumns = (
    rows: number,
    cols: number,
    bytesPerElement: number,
    call: (start: number, count: number) => Call,
  ): boolean => spread(streamed(rows * cols, bytesPerElement), cols, SPAN, (s, end) => call(s, end - s));
  const imageBytes = (g: Window2D) => g.h * g.w * g.c * 4;
  const colsBytes = (g: Window2D) => g.outH * g.outW * g.kh * g.kw * g.c * 4;
  const outBytes = (g: Window2D) => g.outH * g.outW * g.c * 4;

  /**
   * One output row (a dense layer at batch 1) split over column ranges. The kernel takes its
   * matrix-vector path (assembly/float/gemv.ts), which reads every value of B once, so the
   * work is memory-bound and costed by bytes (a 512 x 1000 classifier: 2 MB, 0.15 ms on one
   * thread, where its MACs would say 0.03 ms and leave it whole). Ranges start at multiples of
   * 32 and are all at least 64 wide when n is, so each part takes the same path and the same
   * column groups as the whole call: every output is summed in the same order.
   */
  const gemvParallel = (
    tA: number,
    tB: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): boolean => {
    if (n < 128 || k + n + 4 > GEMV_FLOATS) return false;
    const chunks = chunksFor(threads, ((n * k * 4) / COST.bytes) * slow);
    const ranges = splitRange(n, Math.min(chunks, Math.floor(n / 64)), 32);
    if (ranges.length < 2 || ranges.some(([s0, s1]) => s1 - s0 < 64)) return false;
    pool!.run(
      ranges.map(([s0, s1]): Call[] => {
        const bPart = b + (tB ? s0 * ldb : s0) * 4;
        return [
          ["float_sgemm", tA, tB, 1, s1 - s0, k, alpha, a, lda, bPart, ldb, beta, c + s0 * 4, ldc, SCRATCH],
        ];
      }),
    );
    return true;
  };

  /** sgemm split over blocks of output rows (or columns when wider): k is never split. */
  const sgemmParallel = (
    tA: number,
    tB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): boolean => {
    if (pool && m === 1) return gemvParallel(tA, tB, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    // A single row or column takes the matrix-vector path, whose order differs: keep it whole.
    if (!pool || m < 2 * MR || n < 2) return false;
    const chunks = chunksFor(threads, ((m * n * k) / COST.sgemmMacs) * slow);
    if (chunks < 2) return false;
    // Whole column blocks of the kernel (each packs its own panel of B) when there are
    // enough of them: no packing is repeated. Else row blocks, each packing all of B, so
    // one per thread (a first conv's dW packs a 43264 x 9 B: more blocks, more packing).
    const nc = columnBlock(n);
    const byRows = Math.ceil(n / nc) < threads;
    // Row blocks all read the whole of B and, when A is stored transposed, the whole of A
    // too: for a small output over a long reduction (a first conv's dW: 32 x 9 outputs over
    // 43264 pixels) that doubles the memory traffic, and 2 threads took 2.2 ms against
    // 1.2 ms on one.
    if (byRows && m * n <= 4096 && k >= 16 * (m + n)) return false;
    const ranges = byRows ? splitRange(m, threads, MR) : splitRange(n, chunks, nc);
    if (ranges.length < 2 || ranges.some(([s0, s1]) => s1 - s0 < 2)) return false;
    pool.run(
      ranges.map(([s0, s1]): Call[] => {
        const aOff = byRows ? a + (tA ? s0 : s0 * lda) * 4 : a;
        const bOff = byRows ? b : b + (tB ? s0 * ldb : s0) * 4;
        const cOff = c + (byRows ? s0 * ldc : s0) * 4;
        const mm = byRows ? s1 - s0 : m;
        const nn = byRows ? n : s1 - s0;
        return [["float_sgemm", tA, tB, mm, nn, k, alpha, aOff, lda, bOff, ldb, beta, cOff, ldc, SCRATCH]];
      }),
    );
    return true;
  };
  // float64 accumulators of the column reductions (sumRows, meanVarRows, batchNormBackward):
  // up to 24 bytes per column, grown (free + alloc, so the block count stays) for wider rows.
  let accBytes = 64 * 1024;
  let acc = heap.alloc(accBytes);
  const accumulators = (cols: number, perColumn: number) => {
    const bytes = cols * perColumn * 8;
    if (bytes > accBytes) {
      heap.free(acc);
      accBytes = bytes;
      acc = heap.alloc(accBytes);
    }
    return acc;
  };

  return {
    name: backendName(module.flavor),
    heap,
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      checkGemm(transA, transB, m, n, k, [lda, ldb, ldc]);
      if (m === 0 || n === 0) return;
      const tA = transA ? 1 : 0;
      const tB = transB ? 1 : 0;
      if (sgemmParallel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
      e.float_sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch);
    },
    im2col(g, xPtr, padValue, cols) {
      const split = overImages(g, 2 * g.n * colsBytes(g), (sub, i) => [
        "float_im2col",
        ...sub,
        xPtr + i * imageBytes(g),
        padValue,
        cols + i * colsBytes(g),
      ]);
      if (!split) e.float_im2col(...geometryArgs(g), xPtr, padValue, cols);
    },
    col2im(g, cols, dx) {
      const split = overImages(g, 2 * g.n * colsBytes(g), (sub, i) => [
        "float_col2im",
        ...sub,
        cols + i * colsBytes(g),
        dx + i * imageBytes(g),
      ]);
      if (!split) e.float_col2im(...geometryArgs(g), cols, dx);
    },
    // Both pooling directions split over images; argmax holds indices into the whole
    // batch, so each block is told where its images start (`base`).
    maxPool(g, xPtr, y, argmax) {
      const split = overImages(g, g.n * (imageBytes(g) + 2 * outBytes(g)), (sub, i) => [
        "float_maxPool",
        ...sub,
        xPtr + i * imageBytes(g),
        (i * imageBytes(g)) / 4,
        y + i * outBytes(g),
        argmax ? argmax + i * outBytes(g) : 0,
      ]);
      const rowBytes = g.outW * g.c * 4;
      const rows =
        !split &&
        overRows(g, imageBytes(g) + 2 * outBytes(g), (sub, inOffset, r0) => [
          "float_maxPool",
          ...sub,
          xPtr + inOffset,
          inOffset / 4,
          y + r0 * rowBytes,
          argmax ? argmax + r0 * rowBytes : 0,
        ]);
      if (!split && !rows) e.float_maxPool(...geometryArgs(g), xPtr, 0, y, argmax);
    },
    maxPoolBackward(g, dy, argmax, dx, overwrite) {
      const ow = overwrite ? 1 : 0;
      const split = overImages(g, g.n * (imageBytes(g) + 2 * outBytes(g)), (sub, i) => [
        "float_maxPoolBackward",
        ...sub,
        dy + i * outBytes(g),
        argmax + i * outBytes(g),
        (i * imageBytes(g)) / 4,
        dx + i * imageBytes(g),
        ow,
      ]);
      if (!split) e.float_maxPoolBackward(...geometryArgs(g), dy, argmax, 0, dx, ow);
    },
    avgPool(g, xPtr, y) {
      const split = overImages(g, g.n * (colsBytes(g) + outBytes(g)), (sub, i) => [
        "float_avgPool",
        ...sub,
        xPtr + i * imageBytes(g),
        y + i * outBytes(g),
      ]);
      const rows =
        !split &&
        overRows(g, colsBytes(g) + outBytes(g), (sub, inOffset, r0) => [
          "float_avgPool",
          ...sub,
          xPtr + inOffset,
          y + r0 * g.outW * g.c * 4,
        ]);
      if (!split && !rows) e.float_avgPool(...geometryArgs(g), xPtr, y);
    },
    avgPoolBackward(g, dy, dx) {
      const split = overImages(g, g.n * (colsBytes(g) + outBytes(g)), (sub, i) => [
        "float_avgPoolBackward",
        ...sub,
        dy + i * outBytes(g),
        dx + i * imageBytes(g),
      ]);
      if (!split) e.float_avgPoolBackward(...geometryArgs(g), dy, dx);
    },
    depthwise(g, x, w, y) {
      const j = depthwiseJob(g, x, w, y);
      // One image: over blocks of output rows.
      const rows = overRows(g, g.n === 1 ? j.micros * COST.bytes : 0, (sub, inOffset, r0) => [
        "float_depthwise",
        ...sub,
        x + inOffset,
        w,
        y + r0 * g.outW * g.c * 4,
      ]);
      if (!rows) runJob(runner, j);
    },
    binary(op, n, a, b, out) {
      const c = code(BINARY_OP_CODES, op, "binary");
      if (elementwise(n, 12, (s, len) => ["float_binary", c, len, a + s * 4, b + s * 4, out + s * 4])) return;
      e.float_binary(c, n, a, b, out);
    },
    binaryRow(op, rows, cols, a, v, out) {
      const c = code(BINARY_OP_CODES, op, "binaryRow");
      const split = spread(streamed(rows * cols, 8), rows, 1, (s, end) => [
        "float_binaryRow",
        c,
        end - s,
        cols,
        a + s * cols * 4,
        v,
        out + s * cols * 4,
      ]);
      if (!split) e.float_binaryRow(c, rows, cols, a, v, out);
    },
    binaryScalar(op, n, a, s, out) {
      const c = code(BINARY_OP_CODES, op, "binaryScalar");
      if (elementwise(n, 8, (i, len) => ["float_binaryScalar", c, len, a + i * 4, s, out + i * 4])) return;
      e.float_binaryScalar(c, n, a, s, out);
    },
    unary(op, n, xPtr, out) {
      const c = code(UNARY_OP_CODES, op, "unary");
      if (elementwise(n, 8, (s, len) => ["float_unary", c, len, xPtr + s * 4, out + s * 4])) return;
      e.float_unary(c, n, xPtr, out);
    },
    unaryBackward(op, n, xPtr, dy, dx, accumulate, clip = 1) {
      const c = code(UNARY_OP_CODES, op, "unaryBackward");
      const acc = accumulate ? 1 : 0;
      const split = elementwise(n, 16, (s, len) => [
        "float_unaryBackward",
        c,
        len,
        xPtr + s * 4,
        dy + s * 4,
        dx + s * 4,
        acc,
        clip,
      ]);
      if (!split) e.float_unaryBackward(c, n, xPtr, dy, dx, acc, clip);
    },
    axpy(n, alpha, xPtr, y) {
      if (elementwise(n, 12, (s, len) => ["float_axpy", len, alpha, xPtr + s * 4, y + s * 4])) return;
      e.float_axpy(n, alpha, xPtr, y);
    },
    fill(n, value, out) {
      if (elementwise(n, 4, (s, len) => ["float_fill", len, value, out + s * 4])) return;
      e.float_fill(n, value, out);
    },
    copy(n, xPtr, out) {
      if (elementwise(n, 8, (s, len) => ["float_copy", len, xPtr + s * 4, out + s * 4])) return;
      e.float_copy(n, xPtr, out);
    },
    sum: (n, xPtr) => e.float_sum(n, xPtr),
    sumRows(rows, cols, xPtr, out) {
      const split = overColumns(rows, cols, 4, (j, n) => [
        "float_sumRows",
        rows,
        n,
        cols,
        xPtr + j * 4,
        out + j * 4,
        SCRATCH,
      ]);
      if (!split) e.float_sumRows(rows, cols, cols, xPtr, out, accumulators(cols, 1));
    },
    sumCols: (rows, cols, xPtr, out) => void e.float_sumCols(rows, cols, xPtr, out),
    meanVarRows(rows, cols, xPtr, mean, variance) {
      const split = overColumns(rows, cols, 8, (j, n) => [
        "float_meanVarRows",
        rows,
        n,
        cols,
        xPtr + j * 4,
        mean + j * 4,
        variance + j * 4,
        SCRATCH,
      ]);
      if (!split) e.float_meanVarRows(rows, cols, cols, xPtr, mean, variance, accumulators(cols, 2));
    },
    maxAbs: (n, xPtr) => e.float_maxAbs(n, xPtr),
    countNonFinite: (n, xPtr) => e.float_countNonFinite(n, xPtr),
    batchNormForward(rows, cols, xPtr, mean, invStd, gamma, beta, y, xhat) {
      runJob(runner, batchNormForwardJob(rows, cols, xPtr, mean, invStd, gamma, beta, y, xhat));
    },
    batchNormBackward(rows, cols, dy, xhat, gamma, invStd, dx, dgamma, dbeta) {
      const split = overColumns(rows, cols, 20, (j, n) => [
        "float_batchNormBackward",
        rows,
        n,
        cols,
        dy + j * 4,
        xhat + j * 4,
        gamma + j * 4,
        invStd + j * 4,
        dx + j * 4,
        dgamma + j * 4,
        dbeta + j * 4,
        SCRATCH,
      ]);
      if (!split) {
        e.float_batchNormBackward(
          rows,
          cols,
          cols,
          dy,
          xhat,
          gamma,
          invStd,
          dx,
          dgamma,
          dbeta,
          accumulators(cols, 3),
        );
      }
    },
    softmaxCrossEntropy(rows, cols, logits, labels, dlogits) {
      const L = heap.i32At(labels, rows);
      for (let r = 0; r < rows; r++) {
        const label = L[r]!;
        if (!(label >= 0 && label < cols)) {
          throw new RangeError(`softmaxCrossEntropy: label ${label} of row ${r} is outside [0, ${cols})`);
        }
      }
      return e.float_softmaxCrossEntropy(rows, cols, logits, labels, dlogits);
    },
    adam(n, p, g, m, v, lr, beta1, beta2, eps, step, clip) {
      // Bias corrections in float64 here; the kernel gets lr / (1 - b1^t) and 1 / (1 - b2^t).
      const lrT = lr / (1 - beta1 ** step);
      const invC2 = 1 / (1 - beta2 ** step);
      const split = elementwise(n, 28, (s, len) => [
        "float_adam",
        len,
        p + s * 4,
        g + s * 4,
        m + s * 4,
        v + s * 4,
        lrT,
        beta1,
        beta2,
        eps,
        invC2,
        clip,
      ]);
      if (!split) e.float_adam(n, p, g, m, v, lrT, beta1, beta2, eps, invC2, clip);
    },
  };
}
