/**
 * Golden-test harness for the float kernels: runs one kernel call on the ref, wasm-simd and
 * wasm-scalar backends with the same inputs and returns every buffer afterwards.
 */
import { expect } from "vitest";
import { type Backend, createBackend } from "../../src/kernels/index.js";
import type { FloatKernels } from "../../src/kernels/types.js";
import type { Random } from "../../src/util/random.js";

export type Data = Float32Array | Int32Array;
export type Buffers = Record<string, Data>;

let cached: Promise<Backend[]> | undefined;

/** ref first, then the WebAssembly flavors. */
export function allBackends(): Promise<Backend[]> {
  cached ??= Promise.all([createBackend("ref"), createBackend("wasm-simd"), createBackend("wasm-scalar")]);
  return cached;
}

/** Copies `inputs` into the backend's heap, calls `op` with their pointers, reads them all back. */
export function runOn(
  backend: Backend,
  inputs: Buffers,
  op: (k: FloatKernels, ptr: Record<string, number>) => unknown,
): { buffers: Buffers; result: number | undefined } {
  const { heap } = backend;
  const ptr: Record<string, number> = {};
  for (const [name, data] of Object.entries(inputs)) {
    ptr[name] = heap.alloc(data.byteLength);
    new Uint8Array(heap.memory.buffer, ptr[name], data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }
  const r = op(backend.float, ptr);
  const result = typeof r === "number" ? r : undefined;
  const buffers: Buffers = {};
  for (const [name, data] of Object.entries(inputs)) {
    const bytes = new Uint8Array(heap.memory.buffer, ptr[name], data.byteLength).slice();
    buffers[name] =
      data instanceof Int32Array ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    heap.free(ptr[name]!);
  }
  return { buffers, result };
}

export function randomF32(rng: Random, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

/** Bit-exact equality (NaN equals NaN, +0 differs from -0). */
export function expectExact(actual: Data, expected: Data, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** |actual - expected| <= tol * (1 + |expected|) elementwise; non-finite values must match exactly. */
export function expectClose(actual: Data, expected: Data, tol: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (!Object.is(a, e)) throw new Error(`${label}: element ${i} is ${a}, expected ${e}`);
      continue;
    }
    if (Math.abs(a - e) > tol * (1 + Math.abs(e))) {
      throw new Error(`${label}: element ${i} is ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
}

/**
 * Runs `op` on every backend and checks each wasm flavor's buffers (and result) against
 * ref: exactly when tol = 0, else within tol.
 */
export async function compareBackends(
  label: string,
  inputs: Buffers,
  op: (k: FloatKernels, ptr: Record<string, number>) => unknown,
  tol = 0,
): Promise<void> {
  const [ref, ...wasm] = await allBackends();
  const want = runOn(ref!, inputs, op);
  for (const backend of wasm) {
    const got = runOn(backend, inputs, op);
    for (const name of Object.keys(inputs)) {
      const what = `${label} [${backend.name}] ${name}`;
      if (tol === 0) expectExact(got.buffers[name]!, want.buffers[name]!, what);
      else expectClose(got.buffers[name]!, want.buffers[name]!, tol, what);
    }
    if (want.result !== undefined) {
      const what = `${label} [${backend.name}] result`;
      const r = new Float64Array([got.result ?? Number.NaN]);
      const e = new Float64Array([want.result]);
      if (tol === 0) expectExact(r as unknown as Float32Array, e as unknown as Float32Array, what);
      else expectClose(r as unknown as Float32Array, e as unknown as Float32Array, tol, what);
    }
  }
}
