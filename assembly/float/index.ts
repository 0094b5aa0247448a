// Float kernels (GEMM, convolution helpers, pooling, elementwise, reductions).
export function floatKernelsVersion(): i32 {
  return 1;
}
