/**
 * Optimizers over named parameters, working in place on heap memory through the fused
 * kernels. A parameter with `clip > 0` (binary latent weights) is clamped to [-clip, clip]
 * after every step, so latent weights cannot drift far from the sign boundary.
 */
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * A parameter as the optimizer sees it: the tensor, its checkpoint name, its clip and whether
 * it is a binary latent weight.
 */
export interface Param {
  /** Stable name, e.g. "layers.3.kernel" (checkpoint key). */
  name: string;
  tensor: Tensor;
  /** Clamp to [-clip, clip] after each step; 0 = no clip. */
  clip: number;
  /** True for latent weights that are binarized in the forward pass (flip ratio counts them). */
  binary: boolean;
}

/** Adam, SGD or Bop: one update per `step`, with state saved in checkpoints. */
export interface Optimizer {
  readonly name: "adam" | "sgd" | "bop";
  /** Applies one update with learning rate lr, reading each parameter's grad. */
  step(lr: number): void;
  /** Named state tensors (moments), for checkpoints, e.g. "optimizer.m.layers.3.kernel". */
  stateTensors(): Map<string, Tensor>;
  /** Scalar state (step count), for checkpoints. */
  scalarState(): Record<string, number>;
  /** Restores the scalar state saved by `scalarState()` (on resume). */
  setScalarState(s: Record<string, number>): void;
  /** Frees the state tensors. */
  dispose(): void;
}

function stateFor(ctx: Context, params: readonly Param[], prefix: string): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const p of params) m.set(`optimizer.${prefix}.${p.name}`, ctx.keep(ctx.zeros(p.tensor.shape)));
  return m;
}

/**
 * Adam (Kingma & Ba 2015): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * p -= lr * m^ / (sqrt(v^) + eps) with bias-corrected m^, v^; then the clip.
 */
export function adam(
  ctx: Context,
  params: readonly Param[],
  { beta1 = 0.9, beta2 = 0.999, eps = 1e-7 }: { beta1?: number; beta2?: number; eps?: number } = {},
): Optimizer {
  const m = stateFor(ctx, params, "m");
  const v = stateFor(ctx, params, "v");
  let t = 0;
  return {
    name: "adam",
    step(lr) {
      t++;
      for (const p of params) {
        const g = p.tensor.grad;
        if (!g) continue;
        const mt = m.get(`optimizer.m.${p.name}`)!;
        const vt = v.get(`optimizer.v.${p.name}`)!;
        ctx.float.adam(p.tensor.size, p.tensor.ptr, g.ptr, mt.ptr, vt.ptr, lr, beta1, beta2, eps, t, p.clip);
      }
    },
    stateTensors: () => new Map([...m, ...v]),
    scalarState: () => ({ step: t }),
    setScalarState(s) {
      t = s.step ?? 0;
    },
    dispose() {
      for (const x of [...m.values(), ...v.values()]) x.dispose();
    },
  };
}

/** SGD with momentum mu: u = mu u + g, p -= lr u; then the clip. */
export function sgd(ctx: Context, params: readonly Param[], { momentum = 0.9 } = {}): Optimizer {
  const u = stateFor(ctx, params, "velocity");
  const f = ctx.float;
  return {
    name: "sgd",
    step(lr) {
      for (const p of params) {
        const g = p.tensor.grad;
        if (!g) continue;
        const ut = u.get(`optimizer.velocity.${p.name}`)!;
        const n = p.tensor.size;
        f.binaryScalar("mul", n, ut.ptr, momentum, ut.ptr);
        f.axpy(n, 1, g.ptr, ut.ptr);
        f.axpy(n, -lr, ut.ptr, p.tensor.ptr);
        if (p.clip > 0) {
          f.binaryScalar("min", n, p.tensor.ptr, p.clip, p.tensor.ptr);
          f.binaryScalar("max", n, p.tensor.ptr, -p.clip, p.tensor.ptr);
        }
      }
    },
    stateTensors: () => new Map(u),
    scalarState: () => ({}),
    setScalarState() {},
    dispose() {
      for (const x of u.values()) x.dispose();
    },
  };
}

/**
 * Bop (Helwegen et al. 2019, "Latent Weights Do Not Exist"; Larq `Bop`): binary weights are
 * kept as +/-1 and flipped by a momentum of their gradients,
 *   m = (1 - gamma) m + gamma g;  w = -w if |m| > tau and sign(m) = sign(w), else w,
 * while every non-binary parameter gets Adam with the scheduled learning rate (as Larq's
 * CaseOptimizer). On creation the binary parameters are set to sign(w) (sign(0) = +1),
 * which leaves a sign-quantized forward pass unchanged; with magnitude-aware kernels alpha
 * becomes 1.
 */
export function bop(
  ctx: Context,
  params: readonly Param[],
  { gamma = 1e-4, threshold = 1e-8 }: { gamma?: number; threshold?: number } = {},
): Optimizer {
  const binary = params.filter((p) => p.binary);
  const rest = adam(
    ctx,
    params.filter((p) => !p.binary),
  );
  for (const p of binary) {
    const d = p.tensor.data;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! >= 0 ? 1 : -1;
  }
  const m = stateFor(ctx, binary, "bop");
  return {
    name: "bop",
    step(lr) {
      for (const p of binary) {
        const g = p.tensor.grad;
        if (!g) continue;
        const mt = m.get(`optimizer.bop.${p.name}`)!;
        const n = p.tensor.size;
        const w = ctx.heap.f32At(p.tensor.ptr, n);
        const md = ctx.heap.f32At(mt.ptr, n);
        const gd = ctx.heap.f32At(g.ptr, n);
        for (let i = 0; i < n; i++) {
          const mi = (1 - gamma) * md[i]! + gamma * gd[i]!;
          md[i] = mi;
          if (Math.abs(mi) > threshold && mi >= 0 === w[i]! >= 0) w[i] = -w[i]!;
        }
      }
      rest.step(lr);
    },
    stateTensors: () => new Map([...m, ...rest.stateTensors()]),
    scalarState: () => rest.scalarState(),
    setScalarState: (s) => rest.setScalarState(s),
    dispose() {
      for (const x of m.values()) x.dispose();
      rest.dispose();
    },
  };
}
