/**
 * Loads the kernel WebAssembly module: the relaxed-SIMD build where the runtime validates
 * relaxed SIMD (Chromium by default, Node 20 with --experimental-wasm-relaxed-simd), else
 * the SIMD build where it validates SIMD, else the scalar build (each detected with
 * WebAssembly.validate, as tfjs-backend-wasm does). The relaxed build differs from the
 * SIMD build only in the float dot products (assembly/float/vec.ts, madd): a fused
 * multiply-add where the CPU has one, so its float results may differ by rounding. The
 * module imports its memory, so the caller's Heap owns all tensor data. A shared memory
 * (worker threads, src/kernels/threads) takes the `-shared` build, which declares its
 * imported memory shared; a private memory takes the plain build.
 *
 * Node reads the .wasm files from build/wasm; a browser fetches them by URL, which the
 * caller may override (`wasmUrl`), or passes the bytes directly (`wasmBytes`).
 *
 * The exports are checked once, here, against the signatures assembly/ declares
 * (exports.ts): a module built from other sources fails to load, naming what differs,
 * instead of a kernel call failing later, perhaps in a worker.
 */
import { Heap } from "../heap.js";
import type { BackendName } from "../types.js";
import { KERNEL_ARITY, type KernelExports } from "./exports.js";

export type { KernelExports } from "./exports.js";

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
const V128_ZERO = [253, 12, ...Array<number>(16).fill(0)];
const RELAXED_SIMD_PROBE = new Uint8Array([
  ...[0, 97, 115, 109, 1, 0, 0, 0], // magic, version
  ...[1, 5, 1, 96, 0, 1, 123], // type section: () -> v128
  ...[3, 2, 1, 0], // function section: one function of that type
  ...[10, 61, 1, 59, 0, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 253, 133, 2, 11], // code: relaxed_madd
]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** True when this runtime supports WebAssembly fixed-width SIMD. */
export function simdSupported(): boolean {
  return validates(SIMD_PROBE);
}

/** True when this runtime supports WebAssembly relaxed SIMD (f32x4.relaxed_madd). */
export function relaxedSimdSupported(): boolean {
  return validates(RELAXED_SIMD_PROBE);
}

/** The kernel builds: relaxed SIMD (fused multiply-add), SIMD, scalar. */
export type WasmFlavor = "relaxed" | "simd" | "scalar";

/** The backend name of a kernel build ("wasm-relaxed", "wasm-simd", "wasm-scalar"). */
export function backendName(flavor: WasmFlavor): BackendName {
  return `wasm-${flavor}`;
}

/** The best build this runtime validates: relaxed, else simd, else scalar. */
export function bestFlavor(): WasmFlavor {
  if (relaxedSimdSupported()) return "relaxed";
  return simdSupported() ? "simd" : "scalar";
}

export interface LoadOptions {
  /** Force a flavor; default: the best the runtime supports (bestFlavor). */
  flavor?: WasmFlavor;
  /** The module bytes (skips loading from disk or network). */
  wasmBytes?: BufferSource;
  /** Where to fetch the module from (browser); default: build/wasm next to the package. */
  wasmUrl?: string | URL;
  /** Use this heap (and its memory); default: a new heap. */
  heap?: Heap;
  /** Create the memory shared (worker threads); implied by a heap whose memory is shared. */
  shared?: boolean;
}

export interface KernelModule {
  readonly flavor: WasmFlavor;
  /** True for the shared-memory build (its memory is a SharedArrayBuffer). */
  readonly shared: boolean;
  readonly heap: Heap;
  readonly exports: KernelExports;
  readonly module: WebAssembly.Module;
}

/**
 * build/wasm/onebit-{simd,scalar}[-shared].wasm next to the package. Each URL is a plain
 * string literal in `new URL(..., import.meta.url)`, the one form every bundler follows:
 * Vite's build emits it as an asset, and its dev server's dependency pre-bundler (which
 * moves this module into node_modules/.vite/deps) rebases it to the package's file. A
 * template literal would be a glob relative to wherever the module ends up, which inside
 * the pre-bundled copy matches nothing (the kernels were fetched from ".../undefined").
 */
export function defaultWasmUrl(flavor: WasmFlavor, shared = false): URL {
  if (flavor === "relaxed") {
    return shared
      ? new URL("../../../build/wasm/onebit-relaxed-shared.wasm", import.meta.url)
      : new URL("../../../build/wasm/onebit-relaxed.wasm", import.meta.url);
  }
  if (flavor === "simd") {
    return shared
      ? new URL("../../../build/wasm/onebit-simd-shared.wasm", import.meta.url)
      : new URL("../../../build/wasm/onebit-simd.wasm", import.meta.url);
  }
  return shared
    ? new URL("../../../build/wasm/onebit-scalar-shared.wasm", import.meta.url)
    : new URL("../../../build/wasm/onebit-scalar.wasm", import.meta.url);
}

/** True when the memory is backed by a SharedArrayBuffer. */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

async function readBytes(url: URL): Promise<BufferSource> {
  if (url.protocol === "file:") {
    const fs = await import(/* @vite-ignore */ "node:fs/promises");
    return fs.readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`onebit: cannot load kernels from ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** Instantiates the kernel module against a heap's memory. */
export async function loadKernelModule(options: LoadOptions = {}): Promise<KernelModule> {
  const flavor: WasmFlavor = options.flavor ?? bestFlavor();
  if (flavor === "simd" && !simdSupported()) {
    throw new Error("onebit: the SIMD kernels were requested but this runtime has no WebAssembly SIMD");
  }
  if (flavor === "relaxed" && !relaxedSimdSupported()) {
    throw new Error(
      "onebit: the relaxed-SIMD kernels were requested but this runtime has no WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)",
    );
  }
  const shared = options.heap ? isSharedMemory(options.heap.memory) : (options.shared ?? false);
  if (shared && typeof SharedArrayBuffer === "undefined") {
    throw new Error(
      "onebit: a shared memory was requested but SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP same-origin + COEP require-corp)",
    );
  }
  let compiled: Promise<WebAssembly.Module>;
  if (options.wasmBytes) {
    compiled = WebAssembly.compile(options.wasmBytes);
  } else {
    const url = options.wasmUrl ? new URL(options.wasmUrl) : defaultWasmUrl(flavor, shared);
    const key = url.href;
    let cached = moduleCache.get(key);
    if (!cached) {
      cached = readBytes(url).then((bytes) => WebAssembly.compile(bytes));
      moduleCache.set(key, cached);
    }
    compiled = cached;
  }
  const module = await compiled;
  const heap = options.heap ?? new Heap({ shared });
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory: heap.memory,
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new Error(`onebit: kernel abort at ${line}:${col}`);
      },
      seed: () => 0,
    },
  });
  const exports = checkExports(instance.exports, flavor);
  heap.reserveBase(exports.heapBase());
  return { flavor, shared, heap, exports, module };
}

/** The instance's exports as KernelExports, or an error naming every missing or different function. */
function checkExports(raw: WebAssembly.Exports, flavor: WasmFlavor): KernelExports {
  const wrong = Object.entries(KERNEL_ARITY).flatMap(([name, arity]) => {
    const fn = raw[name];
    if (typeof fn !== "function") return [`${name} is missing`];
    return fn.length === arity ? [] : [`${name} takes ${fn.length} arguments, not ${arity}`];
  });
  if (wrong.length > 0) {
    throw new Error(
      `onebit: the ${flavor} kernel module does not match assembly/ (${wrong.join("; ")}); rebuild it with 'npm run build:wasm'`,
    );
  }
  return raw as unknown as KernelExports;
}
