/**
 * Verification against onnxruntime-node (CPU): the ONNX file and the engine model run on
 * the same raw images; predicted classes must be identical and the class scores equal
 * within 1e-4 relative to the image's largest score: |a_j - b_j| <= 1e-4 * max_k |b_k|
 * (element-wise relative error is meaningless for scores near 0 that are sums of larger
 * terms).
 *
 * Float layers sum in a different order in onnxruntime and in the engine, so a float value
 * within rounding of 0 may binarize differently. For each image that disagrees, the
 * diagnosis reruns it with the binarized ONNX values (`probes`) as extra outputs and finds
 * the first binarization whose bits differ: if every differing bit's float inputs agree
 * within 1e-4 of the layer's largest |value|, the image is a rounding tie, not a
 * conversion fault. A binarization whose graph maps exactly 0 to something other than +1
 * (`torch.sign(0)` is 0; onebit's sign(0) is +1, docs/architecture.md) disagrees by design
 * where its input is exactly 0: such images are sign-zero ties, counted apart.
 * `exact` means no disagreement at all; `ok` means none unexplained.
 *
 * onnxruntime-node is optional (a devDependency): it is loaded only here, and its absence
 * is reported with the command that installs it.
 *
 *     const r = await verifyOnnx(engine, onnxBytes, test.images, test.count, imported.input);
 *     formatOnnxReport(r); // "verify over 10000 images against onnxruntime: OK ..."
 */
import type { Engine } from "../engine/runtime.js";
import type { OnnxInputLayout } from "./import.js";
import { decodeOnnx, encodeOnnx } from "./onnx-proto.js";

/** The largest score difference `verifyOnnx` accepts, relative to the image's largest |score|. */
export const ONNX_SCORE_TOLERANCE = 1e-4;

/** A binarization to compare when diagnosing a disagreement: an engine bitpack layer and the ONNX value it binarizes. */
export interface BinarizeProbe {
  layer: string;
  onnx: string;
  /** ONNX dims without the batch, the engine axis of each (images), the engine index of each feature (flattened vectors). */
  dims: number[];
  axes: number[];
  order?: Int32Array;
  /** What the graph's binarization gives at exactly 0 (0 for torch.sign; onebit gives +1). Default +1. */
  zero?: number;
}

export interface TieDiagnosis {
  image: number;
  /** The first binarization whose bits differ ("" when none does: unexplained). */
  layer: string;
  differingBits: number;
  /** max |engine - onnx| over the differing bits' float inputs, relative to the layer's max |value|. */
  relativeGap: number;
  /** "rounding": float inputs within rounding of each other; "zero": exact zeros at a sign whose sign(0) is not +1. */
  kind: "rounding" | "zero" | "none";
  explained: boolean;
}

/**
 * The outcome of `verifyOnnx`: class and score mismatches between the engine and onnxruntime,
 * rounding ties explained, and both accuracies.
 */
export interface OnnxVerifyReport {
  images: number;
  classMismatches: number;
  scoreMismatches: number;
  maxRelativeError: number;
  /** Images where anything disagreed. */
  imagesDiffering: number;
  /** Diagnoses of (at most 50) differing images. */
  ties: TieDiagnosis[];
  exact: boolean;
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

/**
 * The ONNX input for images [n, ...engine shape] of raw values: preprocessed as the
 * engine's input layer does (fround(raw * scale + offset), in float64) and permuted to the
 * ONNX dims.
 */
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
    for (let i = 0; i < out.length; i++) out[i] = f(raw[i]! * scale + offset);
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
          out[i++] = f(v * scale + offset);
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
  options: { labels?: ArrayLike<number>; batchSize?: number; probes?: BinarizeProbe[] } = {},
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
    imagesDiffering: 0,
    ties: [],
    exact: false,
    ok: false,
  };
  const differing: number[] = [];
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
      let scale = 0;
      for (let j = 0; j < numClasses; j++) scale = Math.max(scale, Math.abs(onnx[r * numClasses + j]!));
      for (let j = 1; j < numClasses; j++)
        if (onnx[r * numClasses + j]! > onnx[r * numClasses + best]!) best = j;
      let differs = false;
      if (best !== classes[r]) {
        report.classMismatches++;
        differs = true;
        report.first ??= { image: start + r, index: -1, engine: classes[r]!, onnx: best };
      }
      if (options.labels) {
        if (classes[r] === options.labels[start + r]) correctEngine++;
        if (best === options.labels[start + r]) correctOnnx++;
      }
      for (let j = 0; j < numClasses; j++) {
        const a = scores[r * numClasses + j]!;
        const b = onnx[r * numClasses + j]!;
        const rel = a === b ? 0 : Math.abs(a - b) / scale;
        report.maxRelativeError = Math.max(report.maxRelativeError, rel);
        if (!(rel <= ONNX_SCORE_TOLERANCE)) {
          report.scoreMismatches++;
          differs = true;
          report.first ??= { image: start + r, index: j, engine: a, onnx: b };
        }
      }
      if (differs) differing.push(start + r);
    }
  }
  await session.release?.();
  if (options.labels) report.accuracy = { engine: correctEngine / count, onnx: correctOnnx / count };
  report.imagesDiffering = differing.length;
  report.exact = differing.length === 0;
  if (!report.exact && options.probes?.length) {
    report.ties = await diagnose(
      ort,
      engine,
      onnxBytes,
      images,
      differing.slice(0, 50),
      layout,
      options.probes,
    );
  }
  report.ok = report.exact || (differing.length <= 50 && report.ties.every((t) => t.explained));
  return report;
}

/** The engine index of each element of an ONNX tensor [dims] laid out by `axes` (and `order` for vectors). */
function engineIndices(p: Pick<BinarizeProbe, "dims" | "axes" | "order">): Int32Array {
  const size = p.dims.reduce((a, b) => a * b, 1);
  if (p.dims.length !== 3) return p.order ?? Int32Array.from({ length: size }, (_, i) => i);
  const shape = [0, 0, 0];
  p.axes.forEach((axis, i) => {
    shape[axis] = p.dims[i]!;
  });
  const [, w, c] = shape as [number, number, number];
  const out = new Int32Array(size);
  const pos = [0, 0, 0];
  let i = 0;
  for (let x0 = 0; x0 < p.dims[0]!; x0++)
    for (let x1 = 0; x1 < p.dims[1]!; x1++)
      for (let x2 = 0; x2 < p.dims[2]!; x2++) {
        pos[p.axes[0]!] = x0;
        pos[p.axes[1]!] = x1;
        pos[p.axes[2]!] = x2;
        out[i++] = (pos[0]! * w + pos[1]!) * c + pos[2]!;
      }
  return out;
}

/** Finds, per differing image, the first binarization whose bits differ and whether its inputs agree within rounding. */
async function diagnose(
  ort: Ort,
  engine: Engine,
  onnxBytes: Uint8Array,
  images: Uint8Array | Float32Array,
  which: number[],
  layout: OnnxInputLayout,
  probes: BinarizeProbe[],
): Promise<TieDiagnosis[]> {
  const model = decodeOnnx(onnxBytes);
  for (const p of probes) model.graph.output.push({ name: p.onnx, type: { tensorType: { elemType: 1 } } });
  const session = await ort.InferenceSession.create(encodeOnnx(model), { executionProviders: ["cpu"] });
  const size = engine.inputShape.reduce((a, b) => a * b, 1);
  const maps = probes.map(engineIndices);
  const out: TieDiagnosis[] = [];
  for (const image of which) {
    const raw = Float32Array.from(images.subarray(image * size, (image + 1) * size));
    const values = await session.run({
      [session.inputNames[0]!]: new ort.Tensor("float32", onnxFeed(raw, 1, layout, engine.inputShape), [
        1,
        ...layout.dims,
      ]),
    });
    const trace = engine.trace(raw);
    const d: TieDiagnosis = {
      image,
      layer: "",
      differingBits: 0,
      relativeGap: 0,
      kind: "none",
      explained: false,
    };
    for (const [k, p] of probes.entries()) {
      // The bitpack's input (the layer it names, else the one before) less its threshold.
      const at = trace.findIndex((t) => t.name === p.layer);
      const layer = engine.model.layers[at];
      const from = layer?.inputs?.[0];
      const input = from === undefined ? trace[at - 1] : trace.find((t) => t.name === from);
      const t = layer?.kind === "bitpack" ? layer.thresholds?.data : undefined;
      const vi = input?.values;
      const ve = t && vi instanceof Float32Array ? vi.map((v, i) => Math.fround(v - t[i % t.length]!)) : vi;
      const vo = values[p.onnx]?.data as Float32Array | undefined;
      if (at < 1 || !(ve instanceof Float32Array) || !vo) continue;
      let scale = 0;
      for (const v of vo) scale = Math.max(scale, Math.abs(v));
      let gap = 0;
      let bits = 0;
      let zeros = 0;
      const zeroDiffers = (p.zero ?? 1) !== 1;
      maps[k]!.forEach((e, i) => {
        if (zeroDiffers && vo[i] === 0) zeros++;
        else if (ve[e]! >= 0 !== vo[i]! >= 0) {
          bits++;
          gap = Math.max(gap, Math.abs(ve[e]! - vo[i]!) / scale);
        }
      });
      if (bits === 0 && zeros === 0) continue;
      Object.assign(
        d,
        bits === 0
          ? { layer: p.layer, differingBits: zeros, relativeGap: 0, kind: "zero", explained: true }
          : {
              layer: p.layer,
              differingBits: bits,
              relativeGap: gap,
              kind: "rounding",
              explained: gap <= ONNX_SCORE_TOLERANCE,
            },
      );
      break;
    }
    out.push(d);
  }
  await session.release?.();
  return out;
}

/** A short human-readable summary. */
export function formatOnnxReport(r: OnnxVerifyReport): string {
  const acc = r.accuracy
    ? `; test accuracy engine ${(100 * r.accuracy.engine).toFixed(2)}%, onnxruntime ${(100 * r.accuracy.onnx).toFixed(2)}%`
    : "";
  const first = r.first
    ? ` (first: image ${r.first.image}${r.first.index >= 0 ? `, score ${r.first.index}` : ", class"}: engine ${r.first.engine}, onnxruntime ${r.first.onnx})`
    : "";
  const ties = r.ties.filter((t) => t.explained && t.kind === "rounding");
  const zeros = r.ties.filter((t) => t.explained && t.kind === "zero");
  const layers = (ts: TieDiagnosis[]) => [...new Set(ts.map((t) => t.layer))].join(", ");
  const tieText = r.exact
    ? ""
    : `; ${r.imagesDiffering} image(s) differ, ${ties.length} of them only through float rounding ties at a binarization` +
      (ties.length
        ? ` (${layers(ties)}: ${ties.map((t) => t.differingBits).join("/")} bit(s), inputs within ${Math.max(...ties.map((t) => t.relativeGap)).toExponential(1)} of each other)`
        : "") +
      (zeros.length
        ? `, ${zeros.length} through exact zeros at a sign that gives 0 there (torch.sign(0) = 0, onebit's +1; ${layers(zeros)}: ${zeros.map((t) => t.differingBits).join("/")} value(s))`
        : "");
  return (
    `verify over ${r.images} images against onnxruntime: ${r.exact ? "OK (exact)" : r.ok ? "OK (rounding ties only)" : "MISMATCH"}: ` +
    `${r.classMismatches} class mismatches, ${r.scoreMismatches} scores beyond ${ONNX_SCORE_TOLERANCE} of the largest score, ` +
    `max error ${r.maxRelativeError.toExponential(2)}${acc}${tieText}${first}`
  );
}
