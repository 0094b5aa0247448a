/**
 * A float32 tensor whose data lives in the Context's WebAssembly heap, with a node of the
 * reverse-mode autograd graph attached (as in micrograd's engine.py): `parents` and a
 * backward closure that reads this tensor's `grad` and *accumulates* into its parents'
 * grads. `backward()` sorts the graph topologically and runs the closures in reverse.
 *
 * Ownership: a tensor owns its data block, its `grad` tensor and any buffers its op saved
 * for the backward pass (`saveBuffer`); `dispose()` frees all of them.
 */
import { DisposedError } from "../errors.js";
import type { Context } from "./context.js";

/** A tensor shape, outermost dimension first (NHWC for images). */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for the scalar shape []). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when two shapes are equal, dimension for dimension. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A shape as "[2,3]", for messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/**
 * A float32 array in the heap of its Context, with a shape and reverse-mode autograd
 * (`backward()`, `grad`). Free it with `dispose()` or a `ctx.tidy` scope.
 */
export class Tensor {
  readonly ctx: Context;
  readonly shape: Shape;
  readonly size: number;
  /** True for parameters (set by the user) and for results of ops on such tensors. */
  requiresGrad = false;
  /** d(root)/d(this), same shape; allocated on the first backward that reaches this tensor. */
  grad: Tensor | null = null;
  /** Keep `grad` of an intermediate (non-leaf) tensor after backward (leaves always keep it). */
  retainGrad = false;
  private _ptr: number;
  private disposed = false;
  private parents: readonly Tensor[] = [];
  private backwardFn: (() => void) | null = null;
  private saved: number[] = [];

  /** Internal: use the Context factories (ctx.zeros, ctx.fromArray, ...). */
  constructor(ctx: Context, shape: Shape, ptr: number) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`Tensor: bad shape ${formatShape(shape)}`);
    }
    this.ctx = ctx;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this._ptr = ptr;
  }

  /** Byte offset of the data in the heap (for kernels). Throws DisposedError once it or its Context is disposed. */
  get ptr(): number {
    if (this.disposed) throw new DisposedError(`Tensor ${formatShape(this.shape)}`, "Tensor");
    if (this.ctx.isDisposed) throw new DisposedError("Context", `Tensor ${formatShape(this.shape)}`);
    return this._ptr;
  }

  /** The number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** False for results of ops that recorded a backward closure; true for parameters, inputs, constants. */
  get isLeaf(): boolean {
    return this.backwardFn === null;
  }

  /** A fresh float32 view of the data (do not hold it across allocations: memory may grow). */
  get data(): Float32Array {
    return this.ctx.heap.f32At(this.ptr, this.size);
  }

  /** A copy of the data. */
  toArray(): Float32Array {
    return this.data.slice();
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new Error(`Tensor.item: tensor ${formatShape(this.shape)} has ${this.size} elements`);
    return this.data[0]!;
  }

  /** Frees the data, the grad and saved buffers. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const heap = this.ctx.heap;
    heap.free(this._ptr);
    for (const p of this.saved) heap.free(p);
    this.saved = [];
    this.grad?.dispose();
    this.grad = null;
    this.parents = [];
    this.backwardFn = null;
  }

  /** Sets the grad to zero in place (keeps its block, so steps do not re-allocate). */
  zeroGrad(): void {
    const g = this.grad;
    if (g) this.ctx.float.fill(g.size, 0, g.ptr);
  }

  /**
   * Internal (ops): attaches the graph node. `fn` runs during backward with `this.grad`
   * set, and must add into the parents' grads through `accumulateGrad` / `addGrad`.
   */
  setBackward(parents: readonly Tensor[], fn: () => void): void {
    this.requiresGrad = true;
    this.parents = parents;
    this.backwardFn = fn;
  }

  /** Internal (ops): a heap block freed together with this tensor (e.g. a saved mask). */
  saveBuffer(ptr: number): number {
    this.saved.push(ptr);
    return ptr;
  }

  /**
   * Internal (ops): lets a kernel write this tensor's gradient contribution in place.
   * `write(ptr, overwrite)`: when `overwrite` the grad was just allocated (its contents are
   * undefined) and the kernel must overwrite it; else it must add into it.
   */
  accumulateGrad(write: (ptr: number, overwrite: boolean) => void): void {
    if (this.grad === null) {
      this.grad = this.ctx.emptyUntracked(this.shape);
      if (this.isLeaf) {
        // A leaf's grad outlives the step: start it at zero and take the accumulate path,
        // so the first step allocates exactly what later steps do.
        this.ctx.float.fill(this.size, 0, this.grad.ptr);
        write(this.grad.ptr, false);
      } else {
        write(this.grad.ptr, true);
      }
    } else {
      write(this.grad.ptr, false);
    }
  }

  /** Internal (ops): grad += contribution. Takes ownership of `contribution` (adopts or frees it). */
  addGrad(contribution: Tensor): void {
    if (!sameShape(contribution.shape, this.shape)) {
      throw new Error(
        `addGrad: gradient ${formatShape(contribution.shape)} does not match tensor ${formatShape(this.shape)}`,
      );
    }
    // An intermediate adopts its first contribution (saves a copy every step). A leaf's
    // grad outlives the step, so it gets its own block: then the first step allocates
    // exactly what later steps do, and the heap does not grow after step 1.
    if (this.grad === null && !this.isLeaf) {
      this.ctx.untrack(contribution);
      this.grad = contribution;
      return;
    }
    const float = this.ctx.float;
    this.accumulateGrad((ptr, overwrite) => {
      if (overwrite) float.copy(this.size, contribution.ptr, ptr);
      else float.axpy(this.size, 1, contribution.ptr, ptr);
    });
    contribution.dispose();
  }

  /**
   * Backpropagates from this tensor: grad(this) = seed (default 1 for a one-element
   * tensor), then every closure in reverse topological order. Leaves that require grad
   * accumulate into `grad` (call zeroGrad between steps); intermediate grads are freed as
   * soon as they have been propagated unless `retainGrad` is set.
   */
  backward(seed?: Tensor): void {
    if (seed === undefined && this.size !== 1) {
      throw new Error(`backward: tensor ${formatShape(this.shape)} is not a scalar; pass a seed gradient`);
    }
    if (seed !== undefined && seed.size !== this.size) {
      throw new Error(`backward: seed ${formatShape(seed.shape)} does not match ${formatShape(this.shape)}`);
    }
    const order = this.topologicalOrder();
    const float = this.ctx.float;
    this.accumulateGrad((ptr, overwrite) => {
      if (seed === undefined) {
        if (overwrite) float.fill(1, 1, ptr);
        else float.binaryScalar("add", 1, ptr, 1, ptr);
      } else if (overwrite) {
        float.copy(this.size, seed.ptr, ptr);
      } else {
        float.axpy(this.size, 1, seed.ptr, ptr);
      }
    });
    this.ctx.noGrad(() => {
      for (let i = order.length - 1; i >= 0; i--) {
        const node = order[i]!;
        const fn = node.backwardFn;
        if (fn === null || node.grad === null) continue;
        for (const p of node.parents) {
          if (p.disposed)
            throw new DisposedError(`Tensor ${formatShape(p.shape)}`, "backward: an input of the graph");
        }
        this.ctx.tidy(fn);
        if (!node.retainGrad) {
          node.grad.dispose();
          node.grad = null;
        }
      }
    });
  }

  /** Nodes reachable through parents that require grad, parents before children. */
  private topologicalOrder(): Tensor[] {
    const order: Tensor[] = [];
    const visited = new Set<Tensor>();
    // Iterative post-order DFS: deep graphs must not overflow the JS stack.
    const stack: { node: Tensor; next: number }[] = [{ node: this, next: 0 }];
    visited.add(this);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.node.parents.length) {
        const p = top.node.parents[top.next++]!;
        if (p.requiresGrad && !visited.has(p)) {
          visited.add(p);
          stack.push({ node: p, next: 0 });
        }
      } else {
        order.push(top.node);
        stack.pop();
      }
    }
    return order;
  }
}
