// One WebAssembly module holds every kernel family; each family lives in its own folder.
// The memory is imported: TypeScript owns allocation (src/kernels/heap.ts) and passes
// pointers. Kernels never allocate.
export * from "./float/index";
export * from "./binary/index";
export * from "./train/signGemm";
export * from "./train/convPatterns";

/** First byte after the module's static data: TypeScript's heap starts above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 when this module was compiled with SIMD, else 0. */
export function simdEnabled(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
