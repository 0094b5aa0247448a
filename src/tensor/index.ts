/**
 * Tensors and reverse-mode autograd over the kernel backends.
 *
 * A Context binds tensors to one backend (its heap and float kernels) and carries the
 * no-grad depth and the memory scopes; nothing is global. Tensor data lives in WebAssembly
 * memory and must be released: `t.dispose()`, or create tensors inside `ctx.tidy(fn)`,
 * which disposes everything created inside except what `fn` returns or `ctx.keep`s.
 * Gradients belong to their tensor, so a parameter's grad outlives the step's scope.
 *
 *     import { createContext } from "./tensor/index.js";
 *     import { matmul, relu, softmaxCrossEntropy } from "./ops/index.js";
 *     import { Random } from "./util/random.js";
 *
 *     const ctx = await createContext("wasm");            // or "ref" (the TS oracle)
 *     const rng = new Random(1);
 *     const w = ctx.parameter(ctx.randn([784, 10], rng, 0.05)); // requiresGrad, zero grad, caller-owned
 *     const lossValue = ctx.tidy(() => {                  // one training step
 *       const x = ctx.fromArray(images, [64, 784]);
 *       const loss = softmaxCrossEntropy(relu(matmul(x, w)), labels);
 *       loss.backward();                                  // w.grad += dloss/dw
 *       return loss.item();                               // every temporary is freed here
 *     });
 *     ctx.noGrad(() => ctx.float.axpy(w.size, -0.1, w.grad!.ptr, w.ptr)); // SGD update
 *     w.zeroGrad();                                       // in place: no re-allocation
 *     w.dispose();                                        // frees data and grad
 *
 * Backward: `loss.backward()` from a one-element tensor (or `y.backward(seed)`); leaf grads
 * accumulate until `zeroGrad()`; intermediate grads are freed as soon as they have been
 * propagated (set `retainGrad` to keep one). Ops record a graph only when an input
 * requires grad and no `ctx.noGrad` is active.
 *
 * Evaluation: wrap the forward in `ctx.noGrad` and pass `training: false` to batchNorm
 * and dropout. `t.data` is a live Float32Array view (do not keep it across allocations);
 * `t.toArray()` copies; `t.ptr` is the byte offset for kernels.
 */

import type { Heap } from "../kernels/heap.js";
import { type BackendKind, createBackend } from "../kernels/index.js";
import { Context } from "./context.js";

export { Context, checkContext, type TensorBackend } from "./context.js";
export { formatShape, type Shape, sameShape, shapeSize, Tensor } from "./tensor.js";

/** A Context on a new backend ("wasm" picks SIMD when available; "ref" is plain TS). */
export async function createContext(
  kind: BackendKind = "wasm",
  options: { heap?: Heap; threads?: number } = {},
): Promise<Context> {
  return new Context(await createBackend(kind, options));
}
