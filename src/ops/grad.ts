/** Helpers shared by the ops' backward closures. */
import type { Context } from "../tensor/context.js";
import { checkContext } from "../tensor/context.js";
import { formatShape, sameShape, type Tensor } from "../tensor/tensor.js";

/** The Context of an op's inputs; throws if they come from different Contexts. */
export function contextOf(op: string, first: Tensor, ...rest: (Tensor | null | undefined)[]): Context {
  checkContext(op, first.ctx, ...rest);
  return first.ctx;
}

/** target.grad += g, for a g the caller does not own (e.g. the output's own grad). */
export function passGrad(target: Tensor, g: Tensor): void {
  if (!sameShape(target.shape, g.shape) && target.size !== g.size) {
    throw new Error(`passGrad: gradient ${formatShape(g.shape)} does not fit ${formatShape(target.shape)}`);
  }
  const float = target.ctx.float;
  target.accumulateGrad((ptr, overwrite) => {
    if (overwrite) float.copy(g.size, g.ptr, ptr);
    else float.axpy(g.size, 1, g.ptr, ptr);
  });
}

/** Like passGrad, but takes ownership of `contribution` when it is not `g` itself. */
export function giveGrad(target: Tensor, contribution: Tensor, g: Tensor): void {
  if (contribution === g) passGrad(target, g);
  else target.addGrad(contribution);
}

/** Throws unless the tensor has the expected rank. */
export function checkRank(op: string, name: string, t: Tensor, rank: number | readonly number[]): void {
  const ok = typeof rank === "number" ? t.rank === rank : rank.includes(t.rank);
  if (!ok) {
    throw new Error(`${op}: ${name} must have rank ${rank}, got shape ${formatShape(t.shape)}`);
  }
}

/**
 * Runs a derived op (composed of other ops). Without a graph to record, its intermediates
 * are freed at once (in a scope), so it does not leak when called outside `ctx.tidy`; with
 * a graph, they must live until backward and belong to the caller's scope.
 */
export function composite(
  ctx: Context,
  inputs: readonly (Tensor | null | undefined)[],
  fn: () => Tensor,
): Tensor {
  return ctx.needsGrad(...inputs) ? fn() : ctx.tidy(fn);
}
