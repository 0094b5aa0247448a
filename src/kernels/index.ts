/**
 * Backends: a heap plus the kernels that work on it. `createBackend("wasm")` picks the
 * SIMD WebAssembly kernels when the runtime supports SIMD, else the scalar build; "ref"
 * is the plain-TypeScript oracle on a new heap.
 *
 *     const backend = await createBackend();          // wasm-simd on Node 20
 *     const a = backend.heap.alloc(4 * 64 * 64);
 *     backend.float.fill(64 * 64, 1, a);
 */
import type { BinaryKernels } from "./binaryTypes.js";
import { Heap } from "./heap.js";
import { createRefBinaryKernels } from "./ref/binary.js";
import { createRefFloatKernels } from "./ref/float.js";
import type { BackendName, FloatKernels } from "./types.js";
import { createWasmBinaryKernels } from "./wasm/binary.js";
import { createWasmFloatKernels } from "./wasm/float.js";
import { type KernelModule, loadKernelModule, simdSupported } from "./wasm/module.js";

export type { BinaryKernels, PadValue } from "./binaryTypes.js";
export { convGeometry, type Padding } from "./geometry.js";
export { Heap } from "./heap.js";
export type { BackendName, BinaryOp, FloatKernels, UnaryOp, Window2D } from "./types.js";

export interface Backend {
  readonly name: BackendName;
  readonly heap: Heap;
  readonly float: FloatKernels;
  readonly binary: BinaryKernels;
  readonly module?: KernelModule;
}

export type BackendKind = "wasm" | "wasm-simd" | "wasm-scalar" | "ref";

/**
 * A heap with float (and binary) kernels. "wasm" = the SIMD build when the runtime has
 * WebAssembly SIMD, else the scalar build; "wasm-simd" / "wasm-scalar" force one; "ref" =
 * the TypeScript oracle on a new heap (or `options.heap`), with no module.
 */
export async function createBackend(
  kind: BackendKind = "wasm",
  options: { heap?: Heap; shared?: boolean } = {},
): Promise<Backend> {
  if (kind === "ref") {
    const heap = options.heap ?? new Heap({ shared: options.shared ?? false });
    return { name: "ref", heap, float: createRefFloatKernels(heap), binary: createRefBinaryKernels(heap) };
  }
  if (kind !== "wasm" && kind !== "wasm-simd" && kind !== "wasm-scalar") {
    throw new RangeError(`createBackend: unknown backend '${kind}' (wasm, wasm-simd, wasm-scalar or ref)`);
  }
  const flavor = kind === "wasm-scalar" || (kind === "wasm" && !simdSupported()) ? "scalar" : "simd";
  // Pages that are not cross-origin isolated have no SharedArrayBuffer at all.
  const shared =
    options.shared ??
    (typeof SharedArrayBuffer !== "undefined" && options.heap?.memory.buffer instanceof SharedArrayBuffer);
  let module: KernelModule;
  try {
    module = await loadKernelModule({ flavor, heap: options.heap, shared: options.shared });
  } catch (err) {
    if (!shared) throw err;
    throw new Error(
      `createBackend: the ${flavor} kernel module does not accept a shared memory (it must be built with shared memory): ${(err as Error).message}`,
    );
  }
  const name: BackendName = flavor === "simd" ? "wasm-simd" : "wasm-scalar";
  return {
    name,
    heap: module.heap,
    float: createWasmFloatKernels(module),
    binary: createWasmBinaryKernels(module),
    module,
  };
}
