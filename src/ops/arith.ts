/**
 * Elementwise add, sub, mul, div with broadcasting (see broadcast.ts); either operand may
 * be a number. Derivatives, each summed back to its operand's shape:
 *   add: da = g, db = g          sub: da = g, db = -g
 *   mul: da = g*b, db = g*a      div: da = g/b, db = -g*a/b^2 = -(g*y)/b
 *
 *     const y = add(mul(x, w), b); // x [N, C] * w [C] + b [C]
 */
import type { BinaryOp } from "../kernels/types.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import { asTensor, broadcastBinary, unbroadcast } from "./broadcast.js";
import { contextOf, giveGrad } from "./grad.js";
import { neg } from "./unary.js";

export type Operand = Tensor | number;

function contextOfOperands(op: string, a: Operand, b: Operand): Context {
  if (typeof a !== "number") return contextOf(op, a, typeof b === "number" ? null : b);
  if (typeof b !== "number") return b.ctx;
  throw new Error(`${op}: at least one operand must be a Tensor`);
}

function binary(
  op: BinaryOp,
  x: Operand,
  y: Operand,
  derivatives: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
): Tensor {
  const ctx = contextOfOperands(op, x, y);
  const a = asTensor(ctx, x);
  const b = asTensor(ctx, y);
  const out = broadcastBinary(ctx, op, a, b);
  if (!ctx.needsGrad(a, b)) {
    // Number operands became [] tensors: free them unless a backward closure reads them.
    if (a !== x) a.dispose();
    if (b !== y) b.dispose();
  } else {
    out.setBackward([a, b], () => {
      const g = out.grad!;
      const [da, db] = derivatives(g, a, b, out);
      if (a.requiresGrad && da) giveGrad(a, unbroadcast(ctx, da, a.shape), g);
      if (b.requiresGrad && db) giveGrad(b, unbroadcast(ctx, db, b.shape), g);
    });
  }
  return out;
}

/** a + b. */
export function add(a: Operand, b: Operand): Tensor {
  return binary("add", a, b, (g) => [g, g]);
}

/** a - b. */
export function sub(a: Operand, b: Operand): Tensor {
  return binary("sub", a, b, (g, _a, b) => [g, b.requiresGrad ? neg(g) : null]);
}

/** a * b. */
export function mul(a: Operand, b: Operand): Tensor {
  return binary("mul", a, b, (g, a, b) => [
    a.requiresGrad ? mul(g, b) : null,
    b.requiresGrad ? mul(g, a) : null,
  ]);
}

/** a / b. */
export function div(a: Operand, b: Operand): Tensor {
  return binary("div", a, b, (g, a, b, y) => [
    a.requiresGrad ? div(g, b) : null,
    b.requiresGrad ? neg(div(mul(g, y), b)) : null,
  ]);
}
