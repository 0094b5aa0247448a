// Float kernels (GEMM, convolution helpers, pooling, elementwise, reductions, fused layers).
// Every export is prefixed float_ (the binary family lives in the same module); the
// TypeScript wrappers are in src/kernels/wasm/float.ts.
export { float_sgemm, float_sgemmScratchBytes } from "./gemm";
export { float_im2col, float_col2im, float_maxPool, float_maxPoolBackward, float_avgPool, float_avgPoolBackward } from "./window";
export {
  float_binary, float_binaryRow, float_binaryScalar, float_unary, float_unaryBackward,
  float_axpy, float_fill, float_copy, float_normalize,
} from "./elementwise";
export { float_sum, float_sumRows, float_sumCols, float_meanVarRows, float_maxAbs, float_countNonFinite } from "./reduce";
export { float_batchNormForward, float_batchNormBackward, float_softmaxCrossEntropy, float_adam } from "./layers";
export { float_depthwise } from "./depthwise";
