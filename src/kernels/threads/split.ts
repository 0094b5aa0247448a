/**
 * How kernel wrappers cut a job into chunks for the pool. Chunks never split a
 * reduction: each output element is computed whole by one thread, in the same order as on
 * one thread, so results do not depend on the thread count. A job is split from about
 * 0.1 ms of work: a worker that finished a job within the last 0.2 ms is still polling
 * (pool.ts) and starts the next in microseconds, so in a training step, where jobs follow
 * each other closely, even small ones gain (training the tutorial CNN on 2 threads:
 * 13.0-13.1 s per epoch from 0.1 ms, 13.5 from 0.3 ms, 14.5-14.8 from 0.5 ms). Jobs are
 * cut into a few chunks per thread so that a thread that starts late leaves its share to
 * the others. ONEBIT_MIN_SPLIT_US overrides the threshold (Node).
 */

/** One-thread estimate below which a job runs whole on the calling thread. */
export const MIN_SPLIT_MICROS = Number(globalThis.process?.env?.ONEBIT_MIN_SPLIT_US ?? 100);
/** Smallest chunk worth claiming. */
export const MIN_CHUNK_MICROS = 50;
export const CHUNKS_PER_THREAD = 2;
/** At most this many chunks per job (the control block holds 256 chunks of up to ~60 values). */
export const MAX_JOB_CHUNKS = 96;

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

/**
 * Chunks worth making for a job of `micros` estimated microseconds (1 = run it whole): a
 * multiple of the thread count, so that equal chunks share out evenly (3 chunks on 2
 * threads left one thread a third of the job idle: a 56x56x32 binary conv ran 1.26x
 * faster on 2 threads than on 1, 1.5x at best).
 */
export function chunksFor(threads: number, micros: number): number {
  if (threads <= 1 || micros < MIN_SPLIT_MICROS) return 1;
  const chunks = Math.max(
    threads,
    Math.min(threads * CHUNKS_PER_THREAD, Math.floor(micros / MIN_CHUNK_MICROS)),
  );
  return Math.min(Math.floor(chunks / threads) * threads, MAX_JOB_CHUNKS);
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
