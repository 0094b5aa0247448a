/**
 * The reference float kernels: plain TypeScript loops over typed-array views of the heap.
 * Slow and obviously correct; the WebAssembly kernels are tested against them.
 */
import { Heap } from "../heap.js";
import type { FloatKernels } from "../types.js";
import { depthwiseForward } from "./depthwise.js";
import {
  refAxpy,
  refBinary,
  refBinaryRow,
  refBinaryScalar,
  refCopy,
  refFill,
  refUnary,
  refUnaryBackward,
} from "./elementwise.js";
import { refSgemm } from "./gemm.js";
import { refAdam, refBatchNormBackward, refBatchNormForward, refSoftmaxCrossEntropy } from "./layers.js";
import { refCountNonFinite, refMaxAbs, refMeanVarRows, refSum, refSumCols, refSumRows } from "./reduce.js";
import {
  refAvgPool,
  refAvgPoolBackward,
  refCol2im,
  refIm2col,
  refMaxPool,
  refMaxPoolBackward,
} from "./window.js";

/** Reference float kernels over `heap` (default: a new heap). */
export function createRefFloatKernels(heap: Heap = new Heap()): FloatKernels {
  return {
    name: "ref",
    heap,
    sgemm: (...args) => refSgemm(heap, ...args),
    im2col: (...args) => refIm2col(heap, ...args),
    col2im: (...args) => refCol2im(heap, ...args),
    maxPool: (...args) => refMaxPool(heap, ...args),
    maxPoolBackward: (...args) => refMaxPoolBackward(heap, ...args),
    avgPool: (...args) => refAvgPool(heap, ...args),
    avgPoolBackward: (...args) => refAvgPoolBackward(heap, ...args),
    depthwise: (g, x, w, y) =>
      depthwiseForward(
        g,
        heap.f32At(x, g.n * g.h * g.w * g.c),
        heap.f32At(w, g.kh * g.kw * g.c),
        heap.f32At(y, g.n * g.outH * g.outW * g.c),
      ),
    binary: (...args) => refBinary(heap, ...args),
    binaryRow: (...args) => refBinaryRow(heap, ...args),
    binaryScalar: (...args) => refBinaryScalar(heap, ...args),
    unary: (...args) => refUnary(heap, ...args),
    unaryBackward: (...args) => refUnaryBackward(heap, ...args),
    axpy: (...args) => refAxpy(heap, ...args),
    fill: (...args) => refFill(heap, ...args),
    copy: (...args) => refCopy(heap, ...args),
    sum: (...args) => refSum(heap, ...args),
    sumRows: (...args) => refSumRows(heap, ...args),
    sumCols: (...args) => refSumCols(heap, ...args),
    meanVarRows: (...args) => refMeanVarRows(heap, ...args),
    maxAbs: (...args) => refMaxAbs(heap, ...args),
    countNonFinite: (...args) => refCountNonFinite(heap, ...args),
    batchNormForward: (...args) => refBatchNormForward(heap, ...args),
    batchNormBackward: (...args) => refBatchNormBackward(heap, ...args),
    softmaxCrossEntropy: (...args) => refSoftmaxCrossEntropy(heap, ...args),
    adam: (...args) => refAdam(heap, ...args),
  };
}
