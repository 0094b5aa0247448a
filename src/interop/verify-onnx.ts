/**
 * Verification against onnxruntime-node (CPU): the ONNX file and the engine model run on
 * the same raw images; predicted classes must be identical and every class score equal
 * within 1e-4 relative: |a - b| <= 1e-4 * max(|a|, |b|).
 *
 * onnxruntime-node is optional (a devDependency): it is loaded only here, and its absence
 * is reported with the command that installs it.
 *
 *     const r = await verifyOnnx(engine, onnxBytes, test.images, test.count, imported.input);
 *     formatOnnxReport(r); // "verify over 10000 images against onnxruntime: OK ..."
 */
import type { Engine } from "../engine/runtime.js";
import type { OnnxInputLayout } from "./import.js";

export const ONNX_SCORE_TOLERANCE = 1e-4;

export interface OnnxVerifyReport {
  images: number;
  classMismatches: number;
  scoreMismatches: number;
  maxRelativeError: number;
  /** First disagreement, if any. */
  first?: { image: number; index: number; engine: number; onnx: number };
  /** Test accuracy of each side when labels are given. */
  accuracy?: { engine: number; onnx: number };
  ok: boolean;
}

interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
  release?(): Promise<void>;
}

interface Ort {
  InferenceSession: { create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: "float32", data: Float32Array, dims: number[]) => unknown;
}

async function loadOrt(): Promise<Ort> {
  try {
    const name = "onnxruntime-node";
    return (await import(name)) as Ort;
  } catch (e) {
    throw new Error(
      `verification needs onnxruntime-node (npm install onnxruntime-node): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** The ONNX input for images [n, ...engine shape] of raw values: preprocessed and permuted to the ONNX dims. */
export function onnxFeed(
  raw: ArrayLike<number>,
  n: number,
  layout: OnnxInputLayout,
  engineShape: readonly number[],
) {
  const size = layout.dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * size);
  const f = Math.fround;
  const { scale, offset } = layout;
  if (layout.dims.length !== 3) {
    for (let i = 0; i < out.length; i++) out[i] = f(f(raw[i]! * scale) + offset);
    return out;
  }
  const [, w, c] = engineShape as [number, number, number];
  const [d0, d1, d2] = layout.dims as [number, number, number];
  const pos = [0, 0, 0];
  let i = 0;
  for (let s = 0; s < n; s++)
    for (let x0 = 0; x0 < d0; x0++)
      for (let x1 = 0; x1 < d1; x1++)
        for (let x2 = 0; x2 < d2; x2++) {
          pos[layout.axes[0]!] = x0;
          pos[layout.axes[1]!] = x1;
          pos[layout.axes[2]!] = x2;
          const v = raw[s * size + (pos[0]! * w + pos[1]!) * c + pos[2]!]!;
          out[i++] = f(f(v * scale) + offset);
        }
  return out;
}

/**
 * Runs `onnxBytes` in onnxruntime and `engine` on `count` raw NHWC images and compares
 * classes and scores. `layout` says how the ONNX input is fed (an export's raw NHWC input:
 * dims = the engine shape, axes [0, 1, 2], scale 1, offset 0).
 */
export async function verifyOnnx(
  engine: Engine,
  onnxBytes: Uint8Array,
  images: Uint8Array | Float32Array,
  count: number,
  layout: OnnxInputLayout,
  options: { labels?: ArrayLike<number>; batchSize?: number } = {},
): Promise<OnnxVerifyReport> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(onnxBytes, { executionProviders: ["cpu"] });
  const size = engine.inputShape.reduce((a, b) => a * b, 1);
  const batch = options.batchSize ?? 250;
  const report: OnnxVerifyReport = {
    images: count,
    classMismatches: 0,
    scoreMismatches: 0,
    maxRelativeError: 0,
    ok: false,
  };
  let correctEngine = 0;
  let correctOnnx = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const rawTyped = Float32Array.from(images.subarray(start * size, (start + n) * size));
    const feed = onnxFeed(rawTyped, n, layout, engine.inputShape);
    const out = await session.run({
      [session.inputNames[0]!]: new ort.Tensor("float32", feed, [n, ...layout.dims]),
    });
    const onnx = out[session.outputNames[0]!]!.data as Float32Array;
    const { scores, classes, numClasses } = engine.predict(rawTyped);
    if (onnx.length !== scores.length) {
      throw new Error(
        `verify: onnxruntime gives ${onnx.length / n} scores per image, the engine ${numClasses}`,
      );
    }
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let j = 1; j < numClasses; j++)
        if (onnx[r * numClasses + j]! > onnx[r * numClasses + best]!) best = j;
      if (best !== classes[r]) {
        report.classMismatches++;
        report.first ??= { image: start + r, index: -1, engine: classes[r]!, onnx: best };
      }
      if (options.labels) {
        if (classes[r] === options.labels[start + r]) correctEngine++;
        if (best === options.labels[start + r]) correctOnnx++;
      }
      for (let j = 0; j < numClasses; j++) {
        const a = scores[r * numClasses + j]!;
        const b = onnx[r * numClasses + j]!;
        const rel = a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
        report.maxRelativeError = Math.max(report.maxRelativeError, rel);
        if (!(rel <= ONNX_SCORE_TOLERANCE)) {
          report.scoreMismatches++;
          report.first ??= { image: start + r, index: j, engine: a, onnx: b };
        }
      }
    }
  }
  await session.release?.();
  if (options.labels) report.accuracy = { engine: correctEngine / count, onnx: correctOnnx / count };
  report.ok = report.classMismatches === 0 && report.scoreMismatches === 0;
  return report;
}

/** A short human-readable summary. */
export function formatOnnxReport(r: OnnxVerifyReport): string {
  const acc = r.accuracy
    ? `; test accuracy engine ${(100 * r.accuracy.engine).toFixed(2)}%, onnxruntime ${(100 * r.accuracy.onnx).toFixed(2)}%`
    : "";
  const first = r.first
    ? ` (first: image ${r.first.image}${r.first.index >= 0 ? `, score ${r.first.index}` : ", class"}: engine ${r.first.engine}, onnxruntime ${r.first.onnx})`
    : "";
  return (
    `verify over ${r.images} images against onnxruntime: ${r.ok ? "OK" : "MISMATCH"}: ` +
    `${r.classMismatches} class mismatches, ${r.scoreMismatches} scores beyond ${ONNX_SCORE_TOLERANCE} relative, ` +
    `max relative error ${r.maxRelativeError.toExponential(2)}${acc}${first}`
  );
}
