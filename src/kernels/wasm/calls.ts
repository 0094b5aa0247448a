/**
 * Kernel calls as values. Each export's signature is declared once, by the compiler
 * (exports.ts, generated from assembly/ on every build and checked by a test), so a call
 * is typed: `["bgemm", m, n, words, k, a, b, out]` compiles only with a real export name
 * and its number of arguments. A call is either run here (`invoke`) or shipped to the
 * worker pool, which runs it by name on another thread.
 *
 * Each kernel's argument list is written in one builder (binaryCalls.ts, floatCalls.ts),
 * which returns a Job: the calls that compute units [start, end) of the kernel's split axis
 * (images, rows, elements) whole, so the same builder serves the wrappers (run whole, or
 * cut across threads by `runJob`) and the engine (which records a layer's jobs once and
 * runs them per chunk of images, `byImages`). Adding a kernel: its AssemblyScript file,
 * its reference, and its builder and wrapper method in one kernels/wasm module.
 */
import type { KernelPool } from "../threads/pool.js";
import { chunksFor, splitRange } from "../threads/split.js";
import type { KernelExports } from "./exports.js";

export type { KernelExports } from "./exports.js";

export type KernelName = keyof KernelExports;

/** A kernel call: the export name, then its arguments (SCRATCH = the running thread's scratch). */
export type Call = { [K in KernelName]: readonly [K, ...Parameters<KernelExports[K]>] }[KernelName];

/** Runs a call on this thread and returns the kernel's result. */
export function invoke(exports: KernelExports, call: Call): number {
  const [name, ...args] = call;
  return (exports[name] as (...a: number[]) => number)(...args) as number;
}

/**
 * The work of one kernel (or a fixed sequence of kernels) over `units` units of an axis
 * whose parts are independent: `part(s, e)` computes the outputs of units [s, e) whole,
 * in the same order as the whole job, so the result never depends on how it is cut.
 */
export interface Job {
  readonly units: number;
  /** Cuts fall on multiples of this (SIMD loops and register tiles line up as in the whole). */
  readonly unit: number;
  /** One-thread estimate of the whole job, microseconds of the SIMD build (threads/split.ts COST). */
  readonly micros: number;
  /** Bytes of per-thread scratch the parts name with SCRATCH (0: none). */
  readonly threadScratch: number;
  part(start: number, end: number): Call[];
}

/** A job of single calls: `call(s, e)` is the kernel over units [s, e). */
export function job(
  units: number,
  unit: number,
  micros: number,
  call: (start: number, end: number) => Call,
  threadScratch = 0,
): Job {
  return { units, unit, micros, threadScratch, part: (s, e) => [call(s, e)] };
}

/**
 * Jobs over the same n images run as one: units are images, and each job's units (images,
 * rows of them, elements) are cut at the same image boundaries, in the order given.
 */
export function byImages(n: number, ...jobs: Job[]): Job {
  for (const j of jobs) {
    if (j.units % n !== 0) throw new RangeError(`byImages: ${j.units} units are not whole images of ${n}`);
  }
  return {
    units: n,
    unit: 1,
    micros: jobs.reduce((sum, j) => sum + j.micros, 0),
    threadScratch: Math.max(0, ...jobs.map((j) => j.threadScratch)),
    part: (s, e) => jobs.flatMap((j) => j.part((s * j.units) / n, (e * j.units) / n)),
  };
}

/**
 * Where a kernel family runs its jobs: the module, the pool (if any) and the build's
 * slowdown against the cost model (the scalar build's jobs split from smaller sizes).
 */
export interface Runner {
  readonly exports: KernelExports;
  readonly pool: KernelPool | undefined;
  readonly slowdown: number;
}

/** The ranges to cut `j` into on the runner's pool, or undefined to run it whole here. */
export function partition(r: Runner, j: Job): [number, number][] | undefined {
  if (!r.pool || j.threadScratch > r.pool.scratchBytes) return undefined;
  const ranges = splitRange(j.units, chunksFor(r.pool.threads, j.micros * r.slowdown), j.unit);
  return ranges.length >= 2 ? ranges : undefined;
}

/** Runs `j` across the pool when it is worth cutting, else whole on this thread (`whole`, default part(0, units)). */
export function runJob(r: Runner, j: Job, whole?: () => void): void {
  const ranges = partition(r, j);
  if (ranges) r.pool!.run(ranges.map(([s, e]) => j.part(s, e)));
  else if (whole) whole();
  else for (const c of j.part(0, j.units)) invoke(r.exports, c);
}
