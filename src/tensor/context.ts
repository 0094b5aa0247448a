/**
 * The Context binds tensors to one kernel backend and carries the only mutable state of
 * the training wing, explicitly, instead of globals: the no-grad depth and the stack of
 * memory scopes. Every tensor belongs to one Context.
 *
 * Memory scopes (like tfjs `tidy`): `ctx.tidy(fn)` disposes every tensor created inside
 * `fn` except the tensors it returns (which move to the enclosing scope) and those passed
 * to `ctx.keep`. Tensors created outside any scope are the caller's to dispose. Gradients
 * are owned by their tensor, not by a scope: a parameter's grad survives the step.
 */
import { DisposedError } from "../errors.js";
import type { Heap } from "../kernels/heap.js";
import type { FloatKernels } from "../kernels/types.js";
import type { Random } from "../util/random.js";
import { formatShape, type Shape, shapeSize, Tensor } from "./tensor.js";

/** What the Context needs of a backend (src/kernels/index.ts `Backend` satisfies it). */
export interface TensorBackend {
  readonly name: string;
  readonly heap: Heap;
  readonly float: FloatKernels;
  /** Stops the backend's worker threads (src/kernels/index.ts `Backend`). */
  close?(): Promise<void>;
}

/**
 * Binds tensors to one kernel backend and holds the training wing's mutable state: the no-grad
 * depth and the memory scopes (`tidy`, `keep`). Made by `createContext`.
 */
export class Context {
  readonly backend: TensorBackend;
  readonly heap: Heap;
  readonly float: FloatKernels;
  private readonly scopes: Set<Tensor>[] = [];
  private noGradDepth = 0;
  private disposed = false;

  constructor(backend: TensorBackend) {
    this.backend = backend;
    this.heap = backend.heap;
    this.float = backend.float;
  }

  /**
   * Stops the backend's worker threads. Afterwards the Context and every tensor on it are
   * unusable: factories, scopes and tensor data throw DisposedError. Idempotent. (A backend
   * passed to `new Context` yourself is closed too.)
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.backend.close?.();
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws DisposedError once the Context is disposed. */
  checkAlive(operation: string): void {
    if (this.disposed) throw new DisposedError("Context", operation);
  }

  /** False inside `noGrad`: ops then record no graph and save nothing for backward. */
  get gradEnabled(): boolean {
    return this.noGradDepth === 0;
  }

  /** True when an op on these inputs must record its backward closure. */
  needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
    return this.noGradDepth === 0 && inputs.some((t) => t?.requiresGrad === true);
  }

  /** Runs fn without recording the graph (evaluation, optimizer updates). */
  noGrad<T>(fn: () => T): T {
    this.checkAlive("Context.noGrad");
    this.noGradDepth++;
    try {
      return fn();
    } finally {
      this.noGradDepth--;
    }
  }

  /**
   * Runs fn in a memory scope: every tensor created inside is disposed at the end, except
   * the returned ones (moved to the enclosing scope) and those passed to `keep`. Returned
   * tensors are found in the value itself, in arrays and in plain objects.
   */
  tidy<T>(fn: () => T): T {
    this.checkAlive("Context.tidy");
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      for (const t of scope) t.dispose();
      throw e;
    } finally {
      this.scopes.pop();
    }
    if (result instanceof Promise) {
      for (const t of scope) t.dispose();
      throw new Error("tidy: fn returned a Promise; scopes are synchronous (await outside tidy)");
    }
    const returned = new Set<Tensor>();
    collectTensors(result, returned);
    for (const t of scope) if (!returned.has(t)) t.dispose();
    const parent = this.scopes[this.scopes.length - 1];
    if (parent) for (const t of returned) if (scope.has(t)) parent.add(t);
    return result;
  }

  /** Exempts a tensor from every enclosing scope: the caller now owns it. */
  keep<T extends Tensor>(t: T): T {
    this.untrack(t);
    return t;
  }

  /** Internal: removes a tensor from the scopes (grads are owned by their tensor). */
  untrack(t: Tensor): void {
    for (const s of this.scopes) s.delete(t);
  }

  // ---- factories ----

  /** A tensor with undefined contents (ops overwrite it), registered in the current scope. */
  empty(shape: Shape): Tensor {
    const t = this.emptyUntracked(shape);
    this.scopes[this.scopes.length - 1]?.add(t);
    return t;
  }

  /** Internal: a tensor no scope will dispose (gradients). */
  emptyUntracked(shape: Shape): Tensor {
    this.checkAlive("Context: creating a tensor");
    const bytes = shapeSize(shape) * 4;
    return new Tensor(this, shape, this.heap.alloc(bytes));
  }

  /** A new tensor of `shape` with every element `value`. */
  full(shape: Shape, value: number): Tensor {
    const t = this.empty(shape);
    this.float.fill(t.size, value, t.ptr);
    return t;
  }

  /** A new tensor of `shape` filled with 0. */
  zeros(shape: Shape): Tensor {
    return this.full(shape, 0);
  }

  /** A new tensor of `shape` filled with 1. */
  ones(shape: Shape): Tensor {
    return this.full(shape, 1);
  }

  /** A one-element tensor of shape []. */
  scalar(value: number): Tensor {
    return this.full([], value);
  }

  /** Copies `data` (row-major) into a new tensor; shape defaults to [data.length]. */
  fromArray(data: ArrayLike<number>, shape: Shape = [data.length]): Tensor {
    if (shapeSize(shape) !== data.length) {
      throw new RangeError(`fromArray: ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const t = this.empty(shape);
    t.data.set(data);
    return t;
  }

  /** Normal samples mean + std * N(0, 1) from a seeded Random. */
  randn(shape: Shape, rng: Random, std = 1, mean = 0): Tensor {
    const t = this.empty(shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
    return t;
  }

  /** Uniform samples in [lo, hi) from a seeded Random. */
  uniform(shape: Shape, rng: Random, lo = 0, hi = 1): Tensor {
    const t = this.empty(shape);
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = rng.uniform(lo, hi);
    return t;
  }

  /**
   * A parameter: a tensor that requires grad, owned by the caller (no scope disposes it),
   * with its zero grad allocated now, so that the first training step allocates exactly
   * what later steps do and the heap does not grow after it.
   */
  parameter(t: Tensor): Tensor {
    this.keep(t);
    t.requiresGrad = true;
    t.accumulateGrad(() => {});
    return t;
  }
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) {
    out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out);
  } else if (
    value !== null &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

/** Throws unless every tensor belongs to `ctx` (tensors of two heaps cannot meet). */
export function checkContext(op: string, ctx: Context, ...tensors: (Tensor | null | undefined)[]): void {
  for (const t of tensors) {
    if (t && t.ctx !== ctx) throw new Error(`${op}: tensors belong to different Contexts (backends)`);
  }
}
