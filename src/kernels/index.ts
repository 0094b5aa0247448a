/**
 * Backends: a heap plus the kernels that work on it. `createBackend("wasm")` picks the
 * best WebAssembly build the runtime validates: relaxed SIMD (fused multiply-add in the
 * float dot products; Chromium), else SIMD, else scalar; "ref" is the plain-TypeScript
 * oracle on a new heap.
 *
 *     const backend = await createBackend();          // wasm-simd on Node 20, wasm-relaxed in Chromium
 *     const a = backend.heap.alloc(4 * 64 * 64);
 *     backend.float.fill(64 * 64, 1, a);
 *
 * `threads: N > 1` runs the kernels on N threads (this one plus N - 1 workers) over a
 * shared memory, with results identical to one thread; where shared memory is unavailable
 * (a browser page that is not cross-origin isolated) it falls back to one thread and says
 * why in `backend.threadNote`.
 */
import type { BinaryKernels } from "./binaryTypes.js";
import { Heap } from "./heap.js";
import { createRefBinaryKernels } from "./ref/binary.js";
import { createRefFloatKernels } from "./ref/float.js";
import { KernelPool } from "./threads/pool.js";
import type { BackendName, FloatKernels } from "./types.js";
import { createWasmBinaryKernels } from "./wasm/binary.js";
import { createWasmFloatKernels } from "./wasm/float.js";
import {
  backendName,
  bestFlavor,
  isSharedMemory,
  type KernelModule,
  loadKernelModule,
  type WasmFlavor,
} from "./wasm/module.js";

export type { BinaryKernels, PadValue } from "./binaryTypes.js";
export { convGeometry, type Padding } from "./geometry.js";
export { Heap } from "./heap.js";
export type { BackendName, BinaryOp, FloatKernels, UnaryOp, Window2D } from "./types.js";

/**
 * A set of kernels on one heap: the float and binary kernel families, the wasm module, and the
 * threads they run on. Made by `createBackend`.
 */
export interface Backend {
  readonly name: BackendName;
  readonly heap: Heap;
  readonly float: FloatKernels;
  readonly binary: BinaryKernels;
  readonly module?: KernelModule;
  /**
   * The worker pool when threads > 1: kernel families outside float/binary can split their
   * own work with `pool.run` (chunks of calls; SCRATCH = the running thread's scratch of
   * `pool.scratchBytes`).
   */
  readonly pool?: KernelPool;
  /** Threads the kernels run on (absent or 1: this thread only). */
  readonly threads?: number;
  /** Why fewer threads than requested run, if so. */
  readonly threadNote?: string;
  /** Stops the worker threads (if any). The kernels must not be used afterwards. */
  close?(): Promise<void>;
}

/**
 * Which kernels: "wasm" (the best build the runtime supports: relaxed SIMD, else SIMD,
 * else scalar), "wasm-relaxed", "wasm-simd", "wasm-scalar", or "ref" (the plain
 * TypeScript reference).
 */
export type BackendKind = "wasm" | "wasm-relaxed" | "wasm-simd" | "wasm-scalar" | "ref";

/** Every BackendKind, in the order the CLI lists them. */
export const BACKEND_KINDS: readonly BackendKind[] = [
  "wasm",
  "wasm-relaxed",
  "wasm-simd",
  "wasm-scalar",
  "ref",
];

const FLAVOR_OF: Record<Exclude<BackendKind, "wasm" | "ref">, WasmFlavor> = {
  "wasm-relaxed": "relaxed",
  "wasm-simd": "simd",
  "wasm-scalar": "scalar",
};

export interface BackendOptions {
  /** Use this heap (its memory decides shared or not). */
  heap?: Heap;
  /** Create the heap's memory shared (implied by threads > 1). */
  shared?: boolean;
  /** Threads for the kernels, this one included; default 1. */
  threads?: number;
  /** Where a browser fetches the kernel module (the -shared build when threads > 1). */
  wasmUrl?: string | URL;
}

/** Why shared memory (and so threads) is unavailable here, or undefined when it is available. */
export function sharedMemoryUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === "undefined") {
    return "SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  }
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown };
  if (g.window !== undefined && g.crossOriginIsolated === false) {
    return "this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  }
  return undefined;
}

/** The number of cores (Node: os.availableParallelism; browsers: navigator.hardwareConcurrency). */
export async function availableThreads(): Promise<number> {
  if (typeof process !== "undefined" && typeof process.versions?.node === "string") {
    const os = await import(/* @vite-ignore */ "node:os");
    return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/** `threads` when given (a positive integer), else every core (availableThreads). */
export async function resolveThreads(threads?: number): Promise<number> {
  if (threads === undefined) return availableThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be a positive integer, got ${threads}`);
  }
  return threads;
}

/**
 * A heap with float (and binary) kernels. "wasm" = the best build the runtime validates
 * (bestFlavor); "wasm-relaxed" / "wasm-simd" / "wasm-scalar" force one; "ref" =
 * the TypeScript oracle on a new heap (or `options.heap`), with no module.
 */
export async function createBackend(
  kind: BackendKind = "wasm",
  options: BackendOptions = {},
): Promise<Backend> {
  const requested = options.threads ?? 1;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new RangeError(`createBackend: threads must be a positive integer, got ${requested}`);
  }
  const unavailable = requested > 1 ? sharedMemoryUnavailable() : undefined;
  let threadNote = unavailable
    ? `onebit: running on 1 thread instead of ${requested}: ${unavailable}`
    : undefined;
  if (kind === "ref") {
    const heap = options.heap ?? new Heap({ shared: options.shared ?? false });
    if (requested > 1) threadNote = "onebit: the ref backend runs on 1 thread";
    const float = createRefFloatKernels(heap);
    return {
      name: "ref",
      heap,
      float,
      binary: createRefBinaryKernels(heap),
      threads: 1,
      threadNote,
      close: async () => {},
    };
  }
  if (!BACKEND_KINDS.includes(kind)) {
    throw new RangeError(`createBackend: unknown backend '${kind}' (${BACKEND_KINDS.join(", ")})`);
  }
  const flavor = kind === "wasm" ? bestFlavor() : FLAVOR_OF[kind];
  let threads = unavailable ? 1 : requested;
  if (threads > 1 && options.heap && !isSharedMemory(options.heap.memory)) {
    threadNote = `onebit: running on 1 thread instead of ${requested}: the given heap's memory is not shared`;
    threads = 1;
  }
  if (threadNote) console.warn(threadNote);
  // A shared heap takes the -shared kernel build (loadKernelModule picks it).
  const shared = options.heap
    ? isSharedMemory(options.heap.memory)
    : threads > 1 || (options.shared ?? false);
  const heap = options.heap ?? new Heap({ shared });
  const module = await loadKernelModule({ flavor, heap, wasmUrl: options.wasmUrl });
  const scratchBytes = module.exports.float_sgemmScratchBytes?.() ?? 0;
  let pool: KernelPool | undefined;
  if (threads > 1) {
    try {
      pool = await KernelPool.create(module, threads, scratchBytes);
    } catch (err) {
      threadNote = `onebit: running on 1 thread instead of ${requested}: worker threads failed to start: ${(err as Error).message}`;
      console.warn(threadNote);
      threads = 1;
    }
  }
  return {
    name: backendName(flavor),
    heap: module.heap,
    float: createWasmFloatKernels(module, pool),
    binary: createWasmBinaryKernels(module, pool),
    module,
    pool,
    threads,
    threadNote,
    close: async () => pool?.close(),
  };
}
