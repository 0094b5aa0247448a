/**
 * How kernel wrappers cut a job into parts for the pool. Parts never split a reduction:
 * each output element is computed whole by one thread, in the same order as on one
 * thread, so results do not depend on the thread count. A job is split only when each
 * part has about MIN_PART_MICROS of work, since a dispatch costs about 0.1 ms.
 */

/** Estimated work per part below which splitting does not pay for the dispatch. */
export const MIN_PART_MICROS = 400;

/** Throughput assumptions of the cost model (one thread, SIMD build; scalar is slower). */
export const COST = {
  /** sgemm multiply-adds per microsecond (about 40 GFLOP/s). */
  sgemmMacs: 20_000,
  /** Binary GEMM bit multiply-adds per microsecond (about 150 G/s). */
  bgemmMacs: 150_000,
  /** Bytes streamed per microsecond by memory-bound kernels (elementwise, im2col). */
  bytes: 8_000,
  /** The scalar build's slowdown against these figures. */
  scalarFactor: 4,
} as const;

/** Parts worth making for a job of `micros` estimated microseconds, at most `threads`. */
export function partsFor(threads: number, micros: number): number {
  if (threads <= 1) return 1;
  return Math.max(1, Math.min(threads, Math.floor(micros / MIN_PART_MICROS)));
}

/**
 * Splits [0, total) into `parts` contiguous ranges [start, end) of nearly equal length,
 * every start a multiple of `unit` (so SIMD loops and register tiles line up the same
 * way as in the whole range). Fewer ranges when there are fewer units than parts.
 *
 *     splitRange(100, 2, 16)  // [[0, 48], [48, 100]]
 */
export function splitRange(total: number, parts: number, unit: number): [number, number][] {
  const units = Math.ceil(total / unit);
  const n = Math.max(1, Math.min(parts, units));
  const ranges: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.min(total, Math.floor((units * i) / n) * unit);
    const end = Math.min(total, Math.floor((units * (i + 1)) / n) * unit);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}
