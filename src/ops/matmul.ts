/**
 * Matrix product of 2-D tensors, C = op(A) op(B), where op(A) = A^T when `transA`
 * (A stored [k, m]) and likewise for B. One sgemm forward; backward (with G = dC):
 *   dop(A) = G op(B)^T, so dA = G op(B)^T, or (transA) dA = op(B) G^T
 *   dop(B) = op(A)^T G, so dB = op(A)^T G, or (transB) dB = G^T op(A)
 * each one sgemm writing (beta 0) or adding (beta 1) into the grad.
 *
 *     const y = matmul(x, w, { transB: true }); // x [N, in], w [out, in] -> y [N, out]
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { checkRank, contextOf } from "./grad.js";

/** Writes (beta 0) or adds (beta 1) a gradient at ptr, from the output's gradient g. */
export type GradWriter = (g: Tensor, ptr: number, beta: 0 | 1) => void;

/** Whether `matmul` transposes its operands. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** The matrix product a [M, K] x b [K, N] (either transposed first), differentiable in both. */
export function matmul(a: Tensor, b: Tensor, { transA = false, transB = false }: MatmulOptions = {}): Tensor {
  const ctx = contextOf("matmul", a, b);
  checkRank("matmul", "a", a, 2);
  checkRank("matmul", "b", b, 2);
  const [m, ka] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (ka !== kb) {
    throw new Error(
      `matmul: inner dimensions differ: a ${formatShape(a.shape)}${transA ? "^T" : ""} and b ${formatShape(b.shape)}${transB ? "^T" : ""} (${ka} != ${kb})`,
    );
  }
  const k = ka;
  const lda = a.shape[1]!;
  const ldb = b.shape[1]!;
  const out = ctx.empty([m, n]);
  const f = ctx.float;
  f.sgemm(transA, transB, m, n, k, 1, a.ptr, lda, b.ptr, ldb, 0, out.ptr, n);
  recordMatmulBackward(out, a, b, { transA, transB });
  return out;
}

/**
 * Records matmul's backward on `out` = op(a) op(b), however its forward was computed (the
 * binary product in ./binaryProduct.ts computes the same values with integer kernels).
 * `grads.a(g, ptr, beta)` / `grads.b(...)`, when given, write (beta 0) or add (beta 1)
 * dA / dB in place of the sgemm (a binary layer's gradients use the sign GEMM).
 */
export function recordMatmulBackward(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  { transA = false, transB = false }: MatmulOptions = {},
  grads: { a?: GradWriter; b?: GradWriter } = {},
): void {
  const ctx = out.ctx;
  if (!ctx.needsGrad(a, b)) return;
  const [m, n] = out.shape as [number, number];
  const k = transA ? a.shape[0]! : a.shape[1]!;
  const lda = a.shape[1]!;
  const ldb = b.shape[1]!;
  const f = ctx.float;
  out.setBackward([a, b], () => {
    const g = out.grad!;
    if (a.requiresGrad) {
      a.accumulateGrad((ptr, overwrite) => {
        const beta = overwrite ? 0 : 1;
        if (grads.a) grads.a(g, ptr, beta);
        else if (!transA) f.sgemm(false, !transB, m, k, n, 1, g.ptr, n, b.ptr, ldb, beta, ptr, lda);
        else f.sgemm(transB, true, k, m, n, 1, b.ptr, ldb, g.ptr, n, beta, ptr, lda);
      });
    }
    if (b.requiresGrad) {
      b.accumulateGrad((ptr, overwrite) => {
        const beta = overwrite ? 0 : 1;
        if (grads.b) grads.b(g, ptr, beta);
        else if (!transB) f.sgemm(!transA, false, k, n, m, 1, a.ptr, lda, g.ptr, n, beta, ptr, ldb);
        else f.sgemm(true, transA, n, k, m, 1, g.ptr, n, a.ptr, lda, beta, ptr, ldb);
      });
    }
  });
}
