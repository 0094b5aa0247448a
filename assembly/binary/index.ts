// Binary kernels (bit packing, XNOR/XOR-popcount GEMM and convolution, output
// transforms, bit max-pool). The contract is src/kernels/bits.ts.
export * from "./pack";
export * from "./gemm";
export * from "./transform";
export * from "./window";
export * from "./fused";
export * from "./conv";
export { bitConvTableBytes } from "./convPadded";
export { bitConvScratchBytes } from "./convWordTiles";

export function binaryKernelsVersion(): i32 {
  return 1;
}
