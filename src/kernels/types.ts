/**
 * The kernel interface: the ground floor that the training wing (tensor, ops) and the
 * engine wing stand on. Two implementations exist: `ref` (plain TypeScript, the readable
 * oracle) and `wasm` (AssemblyScript compiled to WebAssembly, SIMD or scalar).
 *
 * Conventions (as in tfjs-backend-wasm): every buffer argument is a byte offset ("ptr")
 * into the Heap's WebAssembly.Memory; sizes are element counts; matrices are row-major with
 * an explicit leading dimension; images are NHWC. Kernels never allocate. Unless a kernel
 * says it accumulates, it overwrites its output. Outputs may alias inputs only where the
 * doc says so (elementwise kernels: `out` may equal an input).
 */
import type { Heap } from "./heap.js";

export type BackendName = "ref" | "wasm-relaxed" | "wasm-simd" | "wasm-scalar";

/** Geometry of a 2-D window op (convolution via im2col, pooling), NHWC. */
export interface Window2D {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  /** Rows of padding above the image (the rest of the 'same' padding goes below). */
  padTop: number;
  /** Columns of padding left of the image. */
  padLeft: number;
  outH: number;
  outW: number;
}

export interface FloatKernels {
  readonly name: BackendName;
  readonly heap: Heap;

  /**
   * C = alpha * op(A) * op(B) + beta * C, with op(A) [m, k] and op(B) [k, n].
   * transA: A is stored [k, m] (lda >= m); else [m, k] (lda >= k). Same for B.
   * beta = 0 means C's old contents are ignored (even NaN).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): void;

  /**
   * Unfolds x [n, h, w, c] into cols [n*outH*outW, kh*kw*c], column index
   * (ky*kw + kx)*c + ci. Positions outside the image read `padValue`.
   */
  im2col(g: Window2D, x: number, padValue: number, cols: number): void;

  /** The adjoint of im2col: dx [n, h, w, c] += fold(cols). Padding positions are dropped. */
  col2im(g: Window2D, cols: number, dx: number): void;

  /**
   * Max pooling, y [n, outH, outW, c]. argmax (int32, same size as y) receives the flat
   * index into x of the chosen element (first maximum in window order; argmax 0: not
   * written, for inference). Padding positions
   * are never chosen. Every window must contain at least one in-bounds position.
   */
  maxPool(g: Window2D, x: number, y: number, argmax: number): void;

  /**
   * The adjoint of maxPool: dx[argmax[i]] += dy[i] over the outputs, in order; with
   * `overwrite`, dx is first set to 0 (elements no window chose end at 0).
   */
  maxPoolBackward(g: Window2D, dy: number, argmax: number, dx: number, overwrite: boolean): void;

  /** Average pooling over in-bounds positions only (padding is not counted). */
  avgPool(g: Window2D, x: number, y: number): void;

  /** The adjoint of avgPool: dx += spread(dy). */
  avgPoolBackward(g: Window2D, dy: number, dx: number): void;

  /**
   * Depthwise convolution forward, y [n, outH, outW, c] of x [n, h, w, c] and w [kh, kw, c]:
   * y = f32(sum over the in-bounds taps, in (ky, kx) order, of x * w), the sum in float64
   * (ref/depthwise.ts depthwiseForward, which the training op shares).
   */
  depthwise(g: Window2D, x: number, w: number, y: number): void;

  // ---- elementwise, n elements; out may alias an input ----
  /** out = a op b, both of n elements. */
  binary(op: BinaryOp, n: number, a: number, b: number, out: number): void;
  /** out[r, j] = a[r, j] op v[j] for a [rows, cols], v [cols] (bias, per-channel scale). */
  binaryRow(op: BinaryOp, rows: number, cols: number, a: number, v: number, out: number): void;
  /** out = a op s for a scalar s. */
  binaryScalar(op: BinaryOp, n: number, a: number, s: number, out: number): void;
  /** out = f(x). */
  unary(op: UnaryOp, n: number, x: number, out: number): void;
  /**
   * dx = dy * f'(x) (accumulate = false) or dx += dy * f'(x) (accumulate = true), where f' is
   * the (pseudo-)derivative of `op` evaluated at the forward input x. `clip` (default 1,
   * rounded to float32) is the straight-through estimator's clip value of "sign":
   * f'(x) = 1{|x| <= clip} (Larq's SteSign(clip_value); QuickNet trains with 1.25).
   */
  unaryBackward(
    op: UnaryOp,
    n: number,
    x: number,
    dy: number,
    dx: number,
    accumulate: boolean,
    clip?: number,
  ): void;
  /** y += alpha * x. */
  axpy(n: number, alpha: number, x: number, y: number): void;
  /** out[i] = value. */
  fill(n: number, value: number, out: number): void;
  /** out[i] = x[i]. */
  copy(n: number, x: number, out: number): void;

  // ---- reductions ----
  /** Sum of n elements (accumulated in float64 in ref; blocked pairwise in wasm). */
  sum(n: number, x: number): number;
  /** out[j] = sum_r x[r, j] for x [rows, cols] (bias gradient). */
  sumRows(rows: number, cols: number, x: number, out: number): void;
  /** out[r] = sum_j x[r, j]. */
  sumCols(rows: number, cols: number, x: number, out: number): void;
  /** Per-column mean and biased variance of x [rows, cols] (batch-norm statistics). */
  meanVarRows(rows: number, cols: number, x: number, mean: number, variance: number): void;
  /** Max absolute value of n elements. */
  maxAbs(n: number, x: number): number;
  /** Number of non-finite (NaN or +/-Inf) elements. */
  countNonFinite(n: number, x: number): number;

  // ---- fused layers ----
  /**
   * Batch-norm forward over x [rows, cols] (cols = channels):
   * xhat = (x - mean) * invStd, y = gamma * xhat + beta. Writes y and xhat (xhat may be 0
   * to skip it). invStd[j] = 1 / sqrt(var[j] + eps) is given.
   */
  batchNormForward(
    rows: number,
    cols: number,
    x: number,
    mean: number,
    invStd: number,
    gamma: number,
    beta: number,
    y: number,
    xhat: number,
  ): void;
  /**
   * Batch-norm backward in training mode (batch statistics):
   * dgamma += sum_r dy*xhat, dbeta += sum_r dy,
   * dx = gamma*invStd/rows * (rows*dy - sum_r dy - xhat * sum_r dy*xhat)  (overwrites dx).
   */
  batchNormBackward(
    rows: number,
    cols: number,
    dy: number,
    xhat: number,
    gamma: number,
    invStd: number,
    dx: number,
    dgamma: number,
    dbeta: number,
  ): void;

  /**
   * Softmax cross-entropy over logits [rows, cols] and int32 labels [rows]:
   * returns the mean loss; writes probs - onehot, divided by rows, into dlogits (if nonzero).
   */
  softmaxCrossEntropy(rows: number, cols: number, logits: number, labels: number, dlogits: number): number;

  /**
   * One Adam step on n parameters (Kingma & Ba): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
   * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); then, if clip > 0,
   * p = clamp(p, -clip, clip) (binary latent weights).
   */
  adam(
    n: number,
    p: number,
    g: number,
    m: number,
    v: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    clip: number,
  ): void;
}

export type BinaryOp = "add" | "sub" | "mul" | "div" | "max" | "min";

/**
 * relu; hardtanh (clip to [-1, 1]); sign (+1 for x >= 0 else -1, sign(0) = +1) whose
 * backward is the straight-through estimator 1{|x| <= 1}; approx_sign (the same forward,
 * Bi-Real Net's backward max(0, 2 - 2|x|)); neg; abs (backward sign(x)); square; sqrt; exp; log.
 */
export type UnaryOp =
  | "relu"
  | "hardtanh"
  | "sign"
  | "approx_sign"
  | "neg"
  | "abs"
  | "square"
  | "sqrt"
  | "exp"
  | "log";
