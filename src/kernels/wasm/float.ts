/**
 * The WebAssembly float kernels: thin wrappers that do the shape arithmetic and argument
 * checks in TypeScript and pass numbers and pointers to the module's `float_*` exports
 * (assembly/float/). Op names become integer codes here. sgemm's packing scratch and the
 * reductions' float64 accumulators are allocated once per kernel set, from the same heap.
 */
import type { Heap } from "../heap.js";
import type { BinaryOp, FloatKernels, UnaryOp, Window2D } from "../types.js";
import type { KernelModule } from "./module.js";

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
};

const REQUIRED = [
  "float_sgemm",
  "float_sgemmScratchBytes",
  "float_im2col",
  "float_col2im",
  "float_maxPool",
  "float_maxPoolBackward",
  "float_avgPool",
  "float_avgPoolBackward",
  "float_binary",
  "float_binaryRow",
  "float_binaryScalar",
  "float_unary",
  "float_unaryBackward",
  "float_axpy",
  "float_fill",
  "float_copy",
  "float_sum",
  "float_sumRows",
  "float_sumCols",
  "float_meanVarRows",
  "float_maxAbs",
  "float_countNonFinite",
  "float_batchNormForward",
  "float_batchNormBackward",
  "float_softmaxCrossEntropy",
  "float_adam",
] as const;

type Fn = (...args: number[]) => number;

function code<T extends string>(codes: Record<T, number>, op: T, what: string): number {
  const c = codes[op];
  if (c === undefined) throw new RangeError(`${what}: unknown op '${op}' (${Object.keys(codes).join(", ")})`);
  return c;
}

function geometryArgs(g: Window2D): number[] {
  return [g.n, g.h, g.w, g.c, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW];
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

/** The float kernels of a loaded kernel module. */
export function createWasmFloatKernels(module: KernelModule): FloatKernels {
  const x = module.exports;
  const missing = REQUIRED.filter((name) => typeof x[name] !== "function");
  if (missing.length > 0) {
    throw new Error(
      `onebit: the ${module.flavor} kernel module lacks ${missing.join(", ")}; rebuild it with 'npm run build:wasm'`,
    );
  }
  const e = x as Record<(typeof REQUIRED)[number], Fn>;
  const heap: Heap = module.heap;
  // Scratch lives as long as the kernel set and is taken up front, so that it never shows
  // up as a block allocated (or leaked) by whatever op first calls sgemm.
  const scratch = heap.alloc(e.float_sgemmScratchBytes());
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
    name: module.flavor === "simd" ? "wasm-simd" : "wasm-scalar",
    heap,
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      checkGemm(transA, transB, m, n, k, [lda, ldb, ldc]);
      if (m === 0 || n === 0) return;
      e.float_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch);
    },
    im2col: (g, xPtr, padValue, cols) => void e.float_im2col(...geometryArgs(g), xPtr, padValue, cols),
    col2im: (g, cols, dx) => void e.float_col2im(...geometryArgs(g), cols, dx),
    maxPool: (g, xPtr, y, argmax) => void e.float_maxPool(...geometryArgs(g), xPtr, y, argmax),
    maxPoolBackward: (count, dy, argmax, dx) => void e.float_maxPoolBackward(count, dy, argmax, dx),
    avgPool: (g, xPtr, y) => void e.float_avgPool(...geometryArgs(g), xPtr, y),
    avgPoolBackward: (g, dy, dx) => void e.float_avgPoolBackward(...geometryArgs(g), dy, dx),
    binary: (op, n, a, b, out) => void e.float_binary(code(BINARY_OP_CODES, op, "binary"), n, a, b, out),
    binaryRow: (op, rows, cols, a, v, out) =>
      void e.float_binaryRow(code(BINARY_OP_CODES, op, "binaryRow"), rows, cols, a, v, out),
    binaryScalar: (op, n, a, s, out) =>
      void e.float_binaryScalar(code(BINARY_OP_CODES, op, "binaryScalar"), n, a, s, out),
    unary: (op, n, xPtr, out) => void e.float_unary(code(UNARY_OP_CODES, op, "unary"), n, xPtr, out),
    unaryBackward: (op, n, xPtr, dy, dx, accumulate) =>
      void e.float_unaryBackward(
        code(UNARY_OP_CODES, op, "unaryBackward"),
        n,
        xPtr,
        dy,
        dx,
        accumulate ? 1 : 0,
      ),
    axpy: (n, alpha, xPtr, y) => void e.float_axpy(n, alpha, xPtr, y),
    fill: (n, value, out) => void e.float_fill(n, value, out),
    copy: (n, xPtr, out) => void e.float_copy(n, xPtr, out),
    sum: (n, xPtr) => e.float_sum(n, xPtr),
    sumRows: (rows, cols, xPtr, out) => void e.float_sumRows(rows, cols, xPtr, out, accumulators(cols, 1)),
    sumCols: (rows, cols, xPtr, out) => void e.float_sumCols(rows, cols, xPtr, out),
    meanVarRows: (rows, cols, xPtr, mean, variance) =>
      void e.float_meanVarRows(rows, cols, xPtr, mean, variance, accumulators(cols, 2)),
    maxAbs: (n, xPtr) => e.float_maxAbs(n, xPtr),
    countNonFinite: (n, xPtr) => e.float_countNonFinite(n, xPtr),
    batchNormForward: (rows, cols, xPtr, mean, invStd, gamma, beta, y, xhat) =>
      void e.float_batchNormForward(rows, cols, xPtr, mean, invStd, gamma, beta, y, xhat),
    batchNormBackward: (rows, cols, dy, xhat, gamma, invStd, dx, dgamma, dbeta) =>
      void e.float_batchNormBackward(
        rows,
        cols,
        dy,
        xhat,
        gamma,
        invStd,
        dx,
        dgamma,
        dbeta,
        accumulators(cols, 3),
      ),
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
      e.float_adam(n, p, g, m, v, lrT, beta1, beta2, eps, invC2, clip);
    },
  };
}
