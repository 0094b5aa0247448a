/**
 * Verification: the engine against the training graph in eval mode, image by image.
 *
 * For every image: the predicted classes must be identical, the class scores equal within
 * 1e-5 relative (|a - b| <= 1e-5 * max(|a|, |b|)), and every binary layer's integer
 * pre-activation identical. The training graph's pre-activation is recomputed from the
 * layer's actual input as op(q_in(x), sign(W)) in float32 (before alpha, K, bias and
 * batch norm): with +/-1 operands and K < 2^24 every partial sum is an exact integer.
 */
import type { Engine } from "../engine/runtime.js";
import type { Model } from "../nn/model.js";
import { conv2d, matmul } from "../ops/index.js";
import { quantize } from "../quant/op.js";
import { getQuantizer, type QuantizerSpec } from "../quant/quantizers.js";
import type { Tensor } from "../tensor/tensor.js";
import { Random } from "../util/random.js";

export const SCORE_TOLERANCE = 1e-5;

export interface Mismatch {
  count: number;
  /** Values compared. */
  checked: number;
  first?: { image: number; index: number; engine: number; training: number };
}

/**
 * The outcome of `verifyEngine`: mismatches of classes, scores and binary pre-activations
 * between the engine and the training graph; `ok` when there are none.
 */
export interface VerifyReport {
  images: number;
  classes: Mismatch;
  scores: Mismatch & { maxRelativeError: number };
  /** Per binary layer (by engine layer name). */
  preActivations: ({ layer: string } & Mismatch)[];
  ok: boolean;
}

export interface VerifyInput {
  /** Raw NHWC images, as the engine takes them. */
  images: Uint8Array | Float32Array;
  count: number;
  /** Raw -> network input, as the trainer applies it. */
  preprocessing: { scale: number; offset: number };
  /** Images per batch, at most the engine's maxBatch. Default 64. */
  batchSize?: number;
}

const emptyMismatch = (): Mismatch => ({ count: 0, checked: 0 });

function record(m: Mismatch, image: number, index: number, engine: number, training: number): void {
  m.count++;
  if (!m.first) m.first = { image, index, engine, training };
}

/** Runs the training model and the engine on the same images and compares them. */
export function verifyEngine(model: Model, engine: Engine, input: VerifyInput): VerifyReport {
  const ctx = model.ctx;
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const batchSize = Math.min(input.batchSize ?? 64, engine.maxBatch);
  const mode = { training: false, rng: new Random(0) };
  const classes = emptyMismatch();
  const scores = { ...emptyMismatch(), maxRelativeError: 0 };
  const pre = new Map<string, Mismatch>();
  const { scale, offset } = input.preprocessing;

  for (let start = 0; start < input.count; start += batchSize) {
    const n = Math.min(batchSize, input.count - start);
    const raw = input.images.subarray(start * size, (start + n) * size);
    const trace = engine.trace(raw);
    const x = Float32Array.from(raw, (v) => v * scale + offset);
    ctx.noGrad(() =>
      ctx.tidy(() => {
        const input: Tensor = ctx.fromArray(x, [n, ...model.inputShape]);
        const outputs: Tensor[] = [];
        const h = model.forward(input, mode, (i, out) => {
          outputs[i] = out;
          const layer = model.layers[i]!;
          const name = model.names[i]!;
          const traced = trace.find((t) => t.name === name);
          if (!traced?.preActivation) return;
          const from = model.sources[i]![0]!;
          const m = pre.get(name) ?? emptyMismatch();
          pre.set(name, m);
          const xIn = from < 0 ? input : outputs[from]!;
          const y = integerPreActivation(layer.type, layer.config, layer.params()[0]!.tensor, xIn).data;
          const e = traced.preActivation;
          const per = e.length / n;
          for (let j = 0; j < e.length; j++) {
            m.checked++;
            if (!Number.isInteger(y[j]!) || y[j] !== e[j])
              record(m, start + Math.floor(j / per), j % per, e[j]!, y[j]!);
          }
        });
        const t = h.data;
        // Scores from predict (the fused fast path), pre-activations from trace (layer by layer).
        const e = engine.predict(raw).scores;
        const c = t.length / n;
        for (let r = 0; r < n; r++) {
          classes.checked++;
          const te = argmax(t, r * c, c);
          const ee = argmax(e, r * c, c);
          if (te !== ee) record(classes, start + r, 0, ee, te);
          for (let j = 0; j < c; j++) {
            const a = e[r * c + j]!;
            const b = t[r * c + j]!;
            scores.checked++;
            const rel = a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
            scores.maxRelativeError = Math.max(scores.maxRelativeError, rel);
            if (!(rel <= SCORE_TOLERANCE)) record(scores, start + r, j, a, b);
          }
        }
      }),
    );
  }
  const preActivations = [...pre].map(([layer, m]) => ({ layer, ...m }));
  const ok = classes.count === 0 && scores.count === 0 && preActivations.every((p) => p.count === 0);
  return { images: input.count, classes, scores, preActivations, ok };
}

function argmax(v: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (v[offset + j]! > v[offset + best]!) best = j;
  return best;
}

/** op(q_in(x), sign(W)) of a binary layer, in float32 (exact integers). */
function integerPreActivation(
  type: string,
  config: Record<string, unknown>,
  kernel: Tensor,
  x: Tensor,
): Tensor {
  const ctx = x.ctx;
  const q = getQuantizer(config.inputQuantizer as string | QuantizerSpec);
  const xq = quantize(q, x, { channels: 1, training: false });
  const w = ctx.fromArray(
    Array.from(kernel.data, (v) => (v >= 0 ? 1 : -1)),
    [...kernel.shape],
  );
  if (type === "quant_dense") return matmul(xq, w, { transB: true });
  return conv2d(xq, w, {
    stride: config.stride as number,
    padding: config.padding as "valid" | "same",
    padValue: config.padValue as number,
  });
}

/** A short human-readable summary of a report. */
export function formatVerifyReport(r: VerifyReport): string {
  const line = (what: string, m: Mismatch) =>
    `${what}: ${m.count} mismatches of ${m.checked}` +
    (m.first
      ? ` (first: image ${m.first.image}, index ${m.first.index}: engine ${m.first.engine}, training ${m.first.training})`
      : "");
  return [
    `verify over ${r.images} images: ${r.ok ? "OK" : "MISMATCH"}`,
    `  ${line("predicted classes", r.classes)}`,
    `  ${line(`class scores (tolerance ${SCORE_TOLERANCE} relative)`, r.scores)}; max relative error ${r.scores.maxRelativeError.toExponential(2)}`,
    ...r.preActivations.map((p) => `  ${line(`integer pre-activations of ${p.layer}`, p)}`),
  ].join("\n");
}
