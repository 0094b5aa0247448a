/**
 * The inference runtime: runs an EngineModel (or a `.onebit` file's bytes) on a backend's
 * kernels. Activations stay packed between binary layers; each binary layer's output
 * transform (threshold to bits, or affine to floats) runs right after its XOR-popcount
 * product; max-pool on bits is an OR; the first and last float layers use the float
 * kernels. Buffers are allocated once per batch size and reused.
 *
 * It imports only kernels/ and engine/ and no Node API, so it bundles for browsers.
 *
 *     const engine = await Engine.load(bytes);               // wasm kernels (SIMD if supported)
 *     const { classes, scores } = engine.predict(pixels);    // raw NHWC pixels, 1 or more images
 */
import { DisposedError } from "../errors.js";
import { type Backend, type BackendKind, createBackend } from "../kernels/index.js";
import { CHUNKS_PER_THREAD, splitRange } from "../kernels/threads/split.js";
import { byImages, type Call, invoke, type Job } from "../kernels/wasm/calls.js";
import { normalizeJob } from "../kernels/wasm/floatCalls.js";
import { decodeModel } from "./format.js";
import { checkInputRange } from "./input-range.js";
import { checkEngineOptions, modelBytes } from "./load.js";
import type { EngineModel, InputLayer, Layout } from "./model.js";
import { shapeSize } from "./model.js";
import { checkModel } from "./model-check.js";
import type { SpareBlocks, Step } from "./runtime-buffers.js";
import { directAffine, findEpilogueRuns, makeEpilogueSteps } from "./runtime-epilogue.js";
import { findFusedRun, fusedKernels, makeFusedStep } from "./runtime-fused.js";
import { makeStep } from "./runtime-steps.js";
import { ModelWeights } from "./runtime-weights.js";

/**
 * Fewest images a chunk of a per-image dispatch gets (an MNIST bnn-cnn image is ~50 us of
 * work on one thread, a dispatch ~100 us): smaller batches run layer by layer, where each
 * kernel decides on its own whether to split.
 */
const MIN_CHUNK_IMAGES = 4;

/** Options of `Engine.load` (each checked; an unknown one is an OptionsError). */
export interface EngineOptions {
  /** "wasm" (default: the best build the runtime supports: relaxed SIMD, SIMD, scalar), "wasm-relaxed", "wasm-simd", "wasm-scalar" or "ref". */
  backend?: BackendKind;
  /** Where the browser fetches the kernel module from. */
  wasmUrl?: string | URL;
  /**
   * Threads for the kernels, this one included (default 1). Needs shared memory: a page
   * must be cross-origin isolated, else it runs on 1 thread and warns why. With `wasmUrl`
   * and threads > 1, point it at the -shared kernel build.
   */
  threads?: number;
  /** Images per kernel call; larger inputs run in chunks. Default 64. */
  maxBatch?: number;
  /**
   * Run a float first layer (conv -> max pool -> batch norm -> bitpack) as one fused kernel
   * in `predict`, and each binary conv with its threshold transform as one kernel
   * (bit-identical; `trace` always runs the layers one by one). Default true.
   */
  fuse?: boolean;
  /**
   * Refuse float inputs that look like pixels scaled to 0..1 when the model's input layer
   * expects raw pixels 0..255 (an InputRangeError; src/engine/input-range.ts). Default true.
   */
  checkInputRange?: boolean;
}

/**
 * What `Engine.predict` returns: raw scores (logits; `softmax` gives probabilities) and the
 * argmax class of each image.
 */
export interface Prediction {
  /** Class scores, row-major [batch, classes]. */
  scores: Float32Array;
  /** argmax per image (the first maximum). */
  classes: Int32Array;
  batch: number;
  numClasses: number;
}

/** One layer's output for a batch, copied out of the heap. */
export interface LayerTrace {
  name: string;
  kind: string;
  layout: Layout;
  /** Per-sample shape. */
  shape: number[];
  /** Float32 values, or packed uint32 words for bits ([batch, ...]). */
  values: Float32Array | Uint32Array;
  /** Binary layers: the integer dot values [batch * positions, outC] before the transform. */
  preActivation?: Int32Array;
}

type Images = Uint8Array | Uint8ClampedArray | Float32Array | ArrayLike<number>;

interface Plan {
  n: number;
  steps: Step[];
  /** Heap block the raw input bytes are copied to when a kernel normalizes them. */
  staging?: number;
  /** The chunks of each pool dispatch, built once (the buffers do not change between runs). */
  jobs: Map<string, Call[][]>;
  /** Output blocks no step took over (freed with the plan). */
  spare: SpareBlocks;
}

/**
 * Runs a `.onebit` model on the wasm kernels: `await Engine.load(bytes)`, then
 * `predict(pixels)` synchronously; `dispose()` frees it. `EngineWorker` is the same engine off
 * the main thread.
 */
export class Engine {
  readonly model: EngineModel;
  readonly backend: Backend;
  /** Per-image input shape [h, w, c] (or [n]). */
  readonly inputShape: readonly number[];
  readonly classNames: readonly string[];
  private readonly weights: ModelWeights;
  private readonly plans = new Map<string, Plan>();
  private readonly fuse: boolean;
  /** Images per kernel call (and the most `trace` takes). */
  readonly maxBatch: number;
  private readonly input: InputLayer;
  private disposed = false;
  private checkRange = true;

  private constructor(model: EngineModel, backend: Backend, maxBatch: number, fuse: boolean) {
    this.model = model;
    this.fuse = fuse;
    this.backend = backend;
    this.maxBatch = maxBatch;
    this.input = model.layers[0] as InputLayer;
    this.inputShape = this.input.in.shape;
    this.classNames = model.classNames;
    this.weights = new ModelWeights(backend, model);
  }

  /**
   * Loads a model from `.onebit` bytes (validated; a Uint8Array, an ArrayBuffer or another
   * view of them) or an EngineModel (checked). Unknown or bad options are an OptionsError.
   */
  static async load(
    source: Uint8Array | ArrayBuffer | ArrayBufferView | EngineModel,
    options: EngineOptions = {},
  ): Promise<Engine> {
    checkEngineOptions(options);
    const bytes = modelBytes(source);
    const model = bytes ? decodeModel(bytes) : (source as EngineModel);
    if (!bytes) checkModel(model);
    const kind = options.backend ?? "wasm";
    const backend = await createBackend(kind, { wasmUrl: options.wasmUrl, threads: options.threads });
    const engine = new Engine(model, backend, options.maxBatch ?? 64, options.fuse ?? true);
    engine.checkRange = options.checkInputRange ?? true;
    return engine;
  }

  /** Values per image. */
  get imageSize(): number {
    return shapeSize(this.inputShape);
  }

  /**
   * Class scores and argmax for one image or a batch of raw NHWC images (the input layer
   * maps raw values to the network's range: x = fround(raw * scale[c] + offset[c])).
   */
  predict(images: Images): Prediction {
    this.checkAlive("Engine.predict");
    const batch = this.batchOf(images);
    const numClasses = this.classNames.length;
    const scores = new Float32Array(batch * numClasses);
    for (let start = 0; start < batch; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, batch - start);
      const plan = this.run(images, start, n, this.fuse);
      const last = plan.steps[plan.steps.length - 1]!;
      scores.set(this.backend.heap.f32At(last.out.ptr, n * numClasses), start * numClasses);
    }
    return { scores, classes: argmaxRows(scores, batch, numClasses), batch, numClasses };
  }

  /** Every layer's output (and binary layers' integer pre-activations) for up to maxBatch images. */
  trace(images: Images): LayerTrace[] {
    this.checkAlive("Engine.trace");
    const batch = this.batchOf(images);
    if (batch > this.maxBatch)
      throw new RangeError(`Engine.trace: at most ${this.maxBatch} images, got ${batch}`);
    const plan = this.run(images, 0, batch, false);
    const heap = this.backend.heap;
    return plan.steps.map((s) => {
      const bits = s.layer.out.layout === "bits";
      const values = bits
        ? heap.u32At(s.out.ptr, s.out.length).slice()
        : heap.f32At(s.out.ptr, s.out.length).slice();
      const pre = s.preActivation
        ? heap.i32At(s.preActivation.ptr, s.preActivation.length).slice()
        : undefined;
      return {
        name: s.layer.name,
        kind: s.layer.kind,
        layout: s.layer.out.layout,
        shape: [...s.layer.out.shape],
        values,
        preActivation: pre,
      };
    });
  }

  /**
   * Frees every buffer and weight in the heap and stops its worker threads; afterwards
   * `predict` and `trace` throw DisposedError. Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const plan of this.plans.values()) {
      for (const s of plan.steps) s.free();
      for (const blocks of plan.spare.values()) for (const p of blocks) this.backend.heap.free(p);
      if (plan.staging !== undefined) this.backend.heap.free(plan.staging);
    }
    this.plans.clear();
    this.weights.free();
    void this.backend.close?.();
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private checkAlive(operation: string): void {
    if (this.disposed) throw new DisposedError("Engine", operation);
  }

  private batchOf(images: Images): number {
    const size = this.imageSize;
    if (images.length === 0 || images.length % size !== 0) {
      throw new RangeError(
        `Engine.predict: ${images.length} values is not a whole number of [${this.inputShape.join(", ")}] images (${size} values each)`,
      );
    }
    // Raw bytes are always finite; any other input is scanned before work starts, so NaN,
    // Inf or a non-number (a wrong dtype such as strings or nested arrays) is an error
    // naming the image, not silent garbage scores.
    if (!(images instanceof Uint8Array || images instanceof Uint8ClampedArray)) {
      for (let i = 0; i < images.length; i++) {
        const v = images[i];
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new RangeError(
            `Engine.predict: image ${Math.floor(i / size)} holds ${typeof v === "number" ? v : `a ${typeof v}`} at value ${i % size}; inputs must be finite numbers`,
          );
        }
      }
      if (this.checkRange) checkInputRange(images, this.input);
    }
    return images.length / size;
  }

  private plan(n: number, fused: boolean): Plan {
    const key = `${n}${fused ? "f" : ""}`;
    let plan = this.plans.get(key);
    if (!plan) {
      const layers = this.model.layers;
      const weights = this.weights.layers;
      // Fused runs span consecutive layers: only where every layer reads the one before.
      const chain = layers.every((l) => l.inputs === undefined);
      const kernels = fused && chain ? fusedKernels(this.backend) : null;
      const steps: Step[] = [];
      const outputs = new Map<string, Step["out"]>();
      const spare: SpareBlocks = new Map();
      // Residual blocks' tails run in their conv's epilogue (runtime-epilogue.ts), planned
      // at the tail's last layer (its members read there, for liveness); the bitpack a
      // run packs gets a step that only owns the bits.
      const epilogues = fused
        ? [...findEpilogueRuns(layers, (i) => directAffine(layers[i]!, weights[i]!, n)).values()]
        : [];
      const at = layers.map((_, i) => i);
      for (const r of epilogues) for (const m of r.members) at[m] = r.end;
      const tails = new Map(epilogues.map((r) => [r.end, r]));
      const live = new Liveness(layers, this.reusesBuffers(n, fused), at);
      const packed = new Map<number, Step>();
      for (let i = 0; i < layers.length; i++) {
        if (at[i] !== i) continue;
        const layer = layers[i]!;
        const sources = layer.inputs?.map((name) => outputs.get(name)!);
        const input = sources ? sources[0] : steps[steps.length - 1]?.out;
        const run = kernels && input ? findFusedRun(layers, i) : null;
        const tail = tails.get(i);
        if (packed.has(i)) {
          steps.push(packed.get(i)!);
        } else if (tail) {
          const made = makeEpilogueSteps(
            this.backend,
            layers,
            weights,
            tail,
            n,
            (name) => outputs.get(name)!,
            spare,
          );
          steps.push(made.conv);
          if (made.pack) packed.set(tail.pack, made.pack);
        } else if (run && kernels && input) {
          steps.push(makeFusedStep(this.backend, kernels, run, weights, i, n, input, layers[run.end]!));
          i = run.end;
        } else {
          steps.push(makeStep(this.backend, layer, weights[i]!, n, input, fused, sources?.slice(1), spare));
        }
        const step = steps[steps.length - 1]!;
        outputs.set(layers[i]!.name, step.out);
        live.built(step, i, input);
      }
      plan = { n, steps, jobs: new Map(), spare };
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Whether a plan's steps may share buffers by liveness: in `predict` plans (not `trace`,
   * which reads every output) that never run steps per image chunk on the pool, where a
   * later step writing a dead buffer could overlap an earlier step's pending chunk.
   */
  private reusesBuffers(n: number, fused: boolean): boolean {
    const pool = this.backend.pool;
    return fused && !(pool && n >= MIN_CHUNK_IMAGES * pool.threads);
  }

  private run(images: Images, start: number, n: number, fused: boolean): Plan {
    const plan = this.plan(n, fused);
    // The input normalization: a kernel call (run with the first layers' dispatch, so on
    // threads it is split too) when a kernel can read the raw values, else TypeScript.
    let normalize = this.stageInput(images, start, n, plan);
    const inputKey = normalize ? `${normalize.bytes}` : "ts";
    const pool = this.backend.pool;
    for (let i = 1; i < plan.steps.length; ) {
      // Consecutive steps that can run per image chunk go to the pool as one dispatch:
      // each thread takes a chunk of images through all of them (no barrier between the
      // layers, one dispatch instead of one per layer, and the small layers that one
      // layer-wide job would not split run in parallel too).
      let end = i;
      while (end < plan.steps.length && plan.steps[end]!.job) end++;
      if (pool && end - i >= 2 && n >= MIN_CHUNK_IMAGES * pool.threads) {
        const key = `${i}:${inputKey}`;
        let job = plan.jobs.get(key);
        if (!job) {
          const group = plan.steps.slice(i, end);
          const chunks = splitRange(
            n,
            Math.min(pool.threads * CHUNKS_PER_THREAD, Math.floor(n / MIN_CHUNK_IMAGES)),
            1,
          );
          const first = normalize?.job;
          job = chunks.map(([s0, s1]) => [
            ...(first ? first.part(s0, s1) : []),
            ...group.flatMap((step) => step.job!.part(s0, s1)),
          ]);
          plan.jobs.set(key, job);
        }
        pool.run(job);
        normalize = null;
        i = end;
      } else {
        if (normalize)
          for (const call of normalize.job.part(0, n)) invoke(this.backend.module!.exports, call);
        normalize = null;
        plan.steps[i]!.run();
        i++;
      }
    }
    return plan;
  }

  /**
   * Writes the normalized input of images [start, start + n) to the plan's input buffer
   * in TypeScript and returns null, or, for uint8 or float32 input with one scale and
   * offset on a kernel module, copies the raw values into the heap and returns the job
   * that normalizes them, over images (the same float64 expression).
   */
  private stageInput(
    images: Images,
    start: number,
    n: number,
    plan: Plan,
  ): { bytes: number; job: Job } | null {
    const size = this.imageSize;
    const x = plan.steps[0]!.out.ptr;
    const { scale, offset } = this.input;
    const bytes =
      images instanceof Float32Array
        ? 4
        : images instanceof Uint8Array || images instanceof Uint8ClampedArray
          ? 1
          : 0;
    const heap = this.backend.heap;
    if (!this.backend.module || bytes === 0 || scale.length !== 1 || offset.length !== 1) {
      preprocess(images, start * size, n * size, this.input, heap.f32At(x, n * size));
      return null;
    }
    plan.staging ??= heap.alloc(plan.n * size * 4);
    const raw = images as Uint8Array | Uint8ClampedArray | Float32Array;
    heap
      .u8()
      .set(new Uint8Array(raw.buffer, raw.byteOffset + start * size * bytes, n * size * bytes), plan.staging);
    const job = normalizeJob(n * size, plan.staging, bytes, scale[0]!, offset[0]!, x);
    return { bytes, job: byImages(n, job) };
  }
}

/**
 * x[i] = raw[base + i] * scale[c] + offset[c], evaluated in float64 and rounded once to
 * float32: the same expression as the training data pipeline (data/normalize), so the
 * first layer sees bit-identical inputs.
 */
function preprocess(raw: Images, base: number, count: number, input: InputLayer, x: Float32Array): void {
  const { scale, offset } = input;
  const c = input.in.shape[input.in.shape.length - 1]!;
  if (scale.length === 1 && offset.length === 1) {
    const s = scale[0]!;
    const o = offset[0]!;
    if (raw instanceof Uint8Array || raw instanceof Float32Array || raw instanceof Uint8ClampedArray) {
      const src = raw.subarray(base, base + count);
      for (let i = 0; i < count; i++) x[i] = src[i]! * s + o;
    } else {
      for (let i = 0; i < count; i++) x[i] = Number(raw[base + i]) * s + o;
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const ch = i % c;
    x[i] =
      Number(raw[base + i]) * scale[scale.length === 1 ? 0 : ch]! + offset[offset.length === 1 ? 0 : ch]!;
  }
}

/** Index of the first maximum of each row. */
export function argmaxRows(scores: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (scores[r * cols + j]! > scores[r * cols + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/**
 * Frees a step's output buffer once the last layer reading it has been planned, so the
 * heap hands it to later steps (same-size blocks are reused: src/kernels/heap.ts). A step
 * whose output aliases its input's buffer (a float flatten) extends that buffer's life.
 * The last layer's output (the scores) is never freed.
 */
class Liveness {
  private readonly lastReader = new Map<string, number>();
  private readonly pending: { step: Step; until: number }[] = [];

  /** `at[i]`: where layer i is planned (a fused run's members: at its last layer). */
  constructor(
    private readonly layers: EngineModel["layers"],
    private readonly enabled: boolean,
    at: readonly number[] = layers.map((_, i) => i),
  ) {
    layers.forEach((l, i) => {
      for (const name of l.inputs ?? (i > 0 ? [layers[i - 1]!.name] : [])) {
        this.lastReader.set(name, Math.max(this.lastReader.get(name) ?? 0, at[i]!));
      }
    });
  }

  /** `step` covers layers up to `last`; `input` is the buffer it reads first. */
  built(step: Step, last: number, input: Step["out"] | undefined): void {
    if (!this.enabled) return;
    const name = this.layers[last]!.name;
    const until =
      last === this.layers.length - 1 ? Number.POSITIVE_INFINITY : (this.lastReader.get(name) ?? last);
    const owner =
      input && step.out.ptr === input.ptr
        ? this.pending.find((p) => p.step.out.ptr === input.ptr)
        : undefined;
    if (owner) owner.until = Math.max(owner.until, until);
    else this.pending.push({ step, until });
    for (let k = this.pending.length - 1; k >= 0; k--) {
      const p = this.pending[k]!;
      if (p.until <= last && p.step !== step) {
        p.step.releaseOutput?.();
        this.pending.splice(k, 1);
      }
    }
  }
}
