/**
 * Layers that read several tensors: the real-valued shortcut of residual BNNs (`Add`:
 * y = x0 + x1 + ...) and the channel concatenation of dense BNNs (`Concatenate`: the
 * inputs' channels side by side, in input order). Neither has parameters; their shapes
 * are checked when the model spec resolves (src/nn/registry.ts).
 */
import { add, concat } from "../ops/index.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ForwardMode } from "./layer.js";
import { Stateless } from "./layers.js";

abstract class Merge extends Stateless {
  readonly config = {};
  abstract forwardAll(xs: readonly Tensor[], mode: ForwardMode): Tensor;
  /** {@inheritDoc Layer.forward} */
  forward(x: Tensor, mode: ForwardMode): Tensor {
    return this.forwardAll([x], mode);
  }
  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}

/** y = x0 + x1 + ...: the real-valued shortcut of residual BNNs. */
export class Add extends Merge {
  readonly type = "add";
  /** {@inheritDoc Layer.forwardAll} */
  forwardAll(xs: readonly Tensor[]): Tensor {
    let y = xs[0]!;
    for (let i = 1; i < xs.length; i++) y = add(y, xs[i]!);
    return y;
  }
}

/** The inputs' channels side by side, in input order. */
export class Concatenate extends Merge {
  readonly type = "concatenate";
  /** {@inheritDoc Layer.forwardAll} */
  forwardAll(xs: readonly Tensor[]): Tensor {
    return xs.length === 1 ? xs[0]! : concat([...xs], -1);
  }
}
