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
  const module = await loadKernelModule({ flavor, heap: options.heap, shared: options.shared });
  const name: BackendName = flavor === "simd" ? "wasm-simd" : "wasm-scalar";
  return {
    name,
    heap: module.heap,
    float: createWasmFloatKernels(module),
    binary: createWasmBinaryKernels(module),
    module,
  };
}
