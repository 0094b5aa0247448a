/**
 * Numerical failure: when a training step's loss is NaN or Inf, training stops before the
 * optimizer applies that step, with an error naming the epoch, the step and the first layer
 * whose output (or parameters) went non-finite, found by replaying the batch layer by layer.
 * The step's checkpoint is never written, so the last good one stays on disk.
 *
 *     throw divergence(model, input, mode, { epoch: 3, step: 17, loss: NaN, checkpoint: "runs/x/last.ckpt" });
 */
import { OnebitError } from "../errors.js";
import type { ForwardMode } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import type { Tensor } from "../tensor/tensor.js";
import { Random } from "../util/random.js";

export class TrainingDivergedError extends OnebitError {
  override readonly name = "TrainingDivergedError";
  /** Name of the first layer with a non-finite output or parameter (undefined: only the loss). */
  readonly layerName: string | undefined;
  /** The checkpoint that keeps the last good epoch, when the run writes one. */
  readonly file: string | undefined;

  constructor(
    readonly epoch: number,
    /** 1-based step within the epoch. */
    readonly step: number,
    /** Index of the first layer with a non-finite output or parameter, or -1 (only the loss). */
    readonly layer: number,
    message: string,
    where: { layerName?: string; file?: string } = {},
  ) {
    super(message);
    this.layerName = where.layerName;
    this.file = where.file;
  }
}

const nonFinite = (t: Tensor): number => t.ctx.float.countNonFinite(t.size, t.ptr);

/**
 * Where the first non-finite value arises for `input`: the first layer holding a non-finite
 * parameter or buffer, else the first layer whose forward output (in `mode`, on a throwaway
 * RNG) holds one. Returns the layer's index and a phrase describing it.
 */
export function firstNonFiniteLayer(
  model: Model,
  input: Tensor,
  mode: ForwardMode,
): { index: number; what: string } {
  const ctx = model.ctx;
  const label = (i: number) => `layer '${model.names[i]}' (${model.layers[i]!.type})`;
  for (const [i, layer] of model.layers.entries()) {
    for (const p of [...layer.params(), ...layer.buffers()]) {
      const bad = nonFinite(p.tensor);
      if (bad > 0) return { index: i, what: `${label(i)}: ${bad} non-finite values in its ${p.name}` };
    }
  }
  return ctx.noGrad(() =>
    ctx.tidy(() => {
      const replay = { ...mode, rng: new Random(0) };
      let first: { index: number; what: string } | undefined;
      model.forward(input, replay, (i, h) => {
        const bad = first ? 0 : nonFinite(h);
        if (bad > 0) first = { index: i, what: `${label(i)}: ${bad} of ${h.size} outputs non-finite` };
      });
      return first ?? { index: -1, what: "every layer's output is finite; the loss itself overflowed" };
    }),
  );
}

/** The error for a non-finite `loss` at (epoch, step), naming the first non-finite layer. */
export function divergence(
  model: Model,
  input: Tensor,
  mode: ForwardMode,
  at: { epoch: number; step: number; loss: number; checkpoint?: string },
): TrainingDivergedError {
  const { index, what } = firstNonFiniteLayer(model, input, mode);
  const kept = at.checkpoint ? `; ${at.checkpoint} keeps the last good epoch` : "";
  return new TrainingDivergedError(
    at.epoch,
    at.step,
    index,
    `training diverged at epoch ${at.epoch}, step ${at.step}: the loss is ${at.loss}; first non-finite: ${what}. ` +
      `Try a lower learning rate${kept}.`,
    { layerName: index >= 0 ? model.names[index] : undefined, file: at.checkpoint },
  );
}
