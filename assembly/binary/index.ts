// Binary kernels (bit packing, XNOR/XOR-popcount GEMM and convolution, bit max-pool).
export function binaryKernelsVersion(): i32 {
  return 1;
}
