// Float kernels (GEMM, convolution helpers, pooling, elementwise, reductions, fused layers).
// Every export is prefixed float_ (the binary family lives in the same module).
export { float_sgemm, float_sgemmScratchBytes } from "./gemm";
