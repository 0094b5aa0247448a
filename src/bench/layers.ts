/**
 * `onebit bench layers`: one binary layer as the engine runs it, against the same float
 * layer in onnxruntime-node (CPU, 1 intra-op and 1 inter-op thread) and in
 * @tensorflow/tfjs-backend-wasm (1 thread), in the same run.
 *
 * Shapes: 3x3 conv, stride 1, 'same', at 56x56x64->64, 28x28x128->128, 14x14x256->256 and
 * 7x7x512->512 (batch 1 and 16), and dense 4096x4096 (batch 1 and 64). The onebit time
 * covers what the engine does for a binary layer whose input arrives as floats: pack the
 * input signs, then the XOR-popcount conv with zero padding and the threshold output
 * transform to packed bits fused in one kernel (conv2dThreshold, given its scratch: the
 * padded copy of the input is part of the time), or for dense the GEMM and the threshold.
 * gmacs = binary MACs / onebit time.
 * Medians of >= 10 timed runs after warm-up, the three timed round-robin.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { bconv2dThresholdScratchWords } from "../kernels/binaryTypes.js";
import { convGeometry } from "../kernels/geometry.js";
import { type Backend, createBackend, resolveThreads } from "../kernels/index.js";
import { Random } from "../util/random.js";
import { onnxModel } from "./layers-onnx.js";
import { type BenchOptions, environment, median, table, timeRuns } from "./util.js";

interface Case {
  shape: string;
  batch: number;
  kind: "conv" | "dense";
  /** conv: [h = w, in channels, filters]; dense: [in, out]. */
  dims: number[];
}

const CONVS: [number, number, number][] = [
  [56, 64, 64],
  [28, 128, 128],
  [14, 256, 256],
  [7, 512, 512],
];

const CASES: Case[] = [
  ...CONVS.flatMap(([s, c, o]) =>
    [1, 16].map((batch) => ({
      shape: `conv3x3 ${s}x${s}x${c}->${o}`,
      batch,
      kind: "conv" as const,
      dims: [s, c, o],
    })),
  ),
  ...[1, 64].map((batch) => ({
    shape: "dense 4096x4096",
    batch,
    kind: "dense" as const,
    dims: [4096, 4096],
  })),
];

export interface LayerResult {
  shape: string;
  batch: number;
  onebit_ms: number;
  ort_ms: number;
  tfjs_wasm_ms: number;
  gmacs: number;
  speedup_vs_ort: number;
  speedup_vs_tfjs: number;
  /** The same layer on --threads N threads (default: all cores), and its speedup over 1. */
  onebit_threads_ms: number;
  threads_speedup: number;
}

type Timed = () => unknown;

function random(rng: Random, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** The binary layer on onebit's kernels: pack -> conv/GEMM -> threshold to bits. */
function onebitLayer(
  b: Backend,
  c: Case,
  x: Float32Array,
  rng: Random,
): { run: Timed; macs: number; free: () => void } {
  const heap = b.heap;
  const owned: number[] = [];
  const take = (words: number) => {
    const p = heap.alloc(words * 4);
    owned.push(p);
    return p;
  };
  const words = (n: number) => (n + 31) >>> 5;
  const fillRandomWords = (ptr: number, count: number) => {
    const v = heap.u32At(ptr, count);
    for (let i = 0; i < count; i++) v[i] = rng.nextUint32();
  };
  const xp = take(x.length);
  heap.f32At(xp, x.length).set(x);
  const free = () => {
    for (const p of owned) heap.free(p);
  };
  if (c.kind === "dense") {
    const [k, o] = c.dims as [number, number];
    const bits = take(c.batch * words(k));
    const w = take(o * words(k));
    fillRandomWords(w, o * words(k));
    const pre = take(c.batch * o);
    const thr = take(o);
    heap.i32At(thr, o).fill(0);
    const flip = take(words(o));
    heap.u32At(flip, words(o)).fill(0);
    const out = take(c.batch * words(o));
    const run = () => {
      b.binary.pack(c.batch, k, xp, bits);
      b.binary.bgemm(c.batch, o, words(k), k, bits, w, pre);
      b.binary.thresholdPack(c.batch, o, pre, thr, flip, out);
    };
    return { run, macs: c.batch * k * o, free };
  }
  const [s, ch, o] = c.dims as [number, number, number];
  const g = convGeometry(c.batch, s, s, ch, 3, 3, 1, 1, "same");
  const pixels = c.batch * s * s;
  const bits = take(pixels * words(ch));
  const w = take(o * 9 * words(ch));
  fillRandomWords(w, o * 9 * words(ch));
  const thr = take(o);
  heap.i32At(thr, o).fill(0);
  const flip = take(words(o));
  heap.u32At(flip, words(o)).fill(0);
  const out = take(pixels * words(o));
  const scratchWords = bconv2dThresholdScratchWords(g, o);
  const scratch = scratchWords ? take(scratchWords) : 0;
  const run = () => {
    b.binary.pack(pixels, ch, xp, bits);
    b.binary.conv2dThreshold(g, 0, o, bits, w, thr, flip, out, scratch);
  };
  return { run, macs: pixels * 9 * ch * o, free };
}

interface Ort {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      o: Record<string, unknown>,
    ): Promise<{ run(feeds: Record<string, unknown>): Promise<unknown> }>;
  };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

async function ortLayer(ort: Ort, c: Case, x: Float32Array, rng: Random): Promise<Timed> {
  const session = (bytes: Uint8Array) =>
    ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
    });
  if (c.kind === "dense") {
    const [k, o] = c.dims as [number, number];
    const s = await session(
      onnxModel({
        op: "MatMul",
        input: [c.batch, k],
        weight: { shape: [k, o], data: random(rng, k * o) },
        output: [c.batch, o],
      }),
    );
    const feed = { x: new ort.Tensor("float32", x, [c.batch, k]) };
    return () => s.run(feed);
  }
  const [sz, ch, o] = c.dims as [number, number, number];
  const s = await session(
    onnxModel({
      op: "Conv",
      input: [c.batch, ch, sz, sz],
      weight: { shape: [o, ch, 3, 3], data: random(rng, o * ch * 9) },
      output: [c.batch, o, sz, sz],
      attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
    }),
  );
  const feed = { x: new ort.Tensor("float32", x, [c.batch, ch, sz, sz]) };
  return () => s.run(feed);
}

interface TfTensor {
  dispose(): void;
  dataSync(): Float32Array;
}
interface Tfjs {
  tensor(values: Float32Array, shape: number[]): TfTensor;
  conv2d(x: TfTensor, w: TfTensor, strides: number, pad: "same"): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  env(): { set(flag: string, value: unknown): void };
}

export async function loadTfjs(): Promise<Tfjs> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const tfModule = (await import("@tensorflow/tfjs")) as unknown as Tfjs & { default?: Tfjs };
    const wasmModule = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as {
      setWasmPaths(p: string): void;
      setThreadsCount(n: number): void;
      default?: unknown;
    };
    const tf = tfModule.default ?? tfModule;
    const wasm = (wasmModule.default ?? wasmModule) as typeof wasmModule;
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(
      `${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`,
    );
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend failed to initialize");
    await tf.ready();
    return tf;
  } finally {
    console.warn = warn;
  }
}

function tfjsLayer(tf: Tfjs, c: Case, x: Float32Array, rng: Random): { run: Timed; free: () => void } {
  if (c.kind === "dense") {
    const [k, o] = c.dims as [number, number];
    const a = tf.tensor(x, [c.batch, k]);
    const w = tf.tensor(random(rng, k * o), [k, o]);
    const run = () => {
      const y = tf.matMul(a, w);
      y.dataSync();
      y.dispose();
    };
    return {
      run,
      free: () => {
        a.dispose();
        w.dispose();
      },
    };
  }
  const [s, ch, o] = c.dims as [number, number, number];
  const a = tf.tensor(x, [c.batch, s, s, ch]);
  const w = tf.tensor(random(rng, 9 * ch * o), [3, 3, ch, o]);
  const run = () => {
    const y = tf.conv2d(a, w, 1, "same");
    y.dataSync();
    y.dispose();
  };
  return {
    run,
    free: () => {
      a.dispose();
      w.dispose();
    },
  };
}

/**
 * Median ms per call of each function, timed round-robin (one timed run of each per round,
 * `runs` rounds, after two warm-up calls each, or as many as fill `warmMs`) so that load
 * changes on a shared machine hit every peer alike.
 */
export async function interleavedMedians(
  fns: Timed[],
  runs: number,
  minMs = 20,
  warmMs = 0,
): Promise<number[]> {
  for (const fn of fns) {
    const start = performance.now();
    for (let i = 0; i < 2 || performance.now() - start < warmMs; i++) await fn();
  }
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let f = 0; f < fns.length; f++) {
      const [t] = await timeRuns(fns[f]!, { runs: 1, warmup: 0, minMs });
      times[f]!.push(t!);
    }
  }
  return times.map(median);
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(10, options.runs ?? 10);
  const ortModule = (await import("onnxruntime-node")) as unknown as Ort & { default?: Ort };
  const ort = ortModule.default ?? ortModule;
  const tf = await loadTfjs();
  const backend = await createBackend("wasm");
  const threaded = await createBackend("wasm", { threads: await resolveThreads(options.threads) });
  const threads = threaded.threads ?? 1;
  const results: LayerResult[] = [];
  for (const c of CASES) {
    const rng = new Random(results.length + 1);
    const inputSize =
      c.kind === "dense" ? c.batch * c.dims[0]! : c.batch * c.dims[0]! * c.dims[0]! * c.dims[1]!;
    const x = random(rng, inputSize);
    const rngThreads = new Random(results.length + 1);
    random(rngThreads, inputSize);
    const ob = onebitLayer(backend, c, x, rng);
    const obThreads = onebitLayer(threaded, c, x, rngThreads);
    const ortRun = await ortLayer(ort, c, x, rng);
    const tfRun = tfjsLayer(tf, c, x, rng);
    const [onebitMs, ortMs, tfMs, threadsMs] = (await interleavedMedians(
      [ob.run, ortRun, tfRun.run, obThreads.run],
      runs,
    )) as [number, number, number, number];
    ob.free();
    obThreads.free();
    tfRun.free();
    const r: LayerResult = {
      shape: c.shape,
      batch: c.batch,
      onebit_ms: onebitMs,
      ort_ms: ortMs,
      tfjs_wasm_ms: tfMs,
      gmacs: ob.macs / (onebitMs * 1e6),
      speedup_vs_ort: ortMs / onebitMs,
      speedup_vs_tfjs: tfMs / onebitMs,
      onebit_threads_ms: threadsMs,
      threads_speedup: onebitMs / threadsMs,
    };
    results.push(r);
    if (!options.json) process.stderr.write(`${c.shape} batch ${c.batch}: ${onebitMs.toFixed(3)} ms\n`);
  }
  await threaded.close?.();
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ environment: environment(), backend: backend.name, runs, threads, results })}\n`,
    );
    return;
  }
  process.stdout.write(
    `${JSON.stringify(environment())}\nonebit kernels: ${backend.name}; medians of ${runs} runs\n`,
  );
  process.stdout.write(
    `${table(
      [
        "shape",
        "batch",
        "onebit ms",
        "ort ms",
        "tfjs-wasm ms",
        "GMAC/s",
        "x ort",
        "x tfjs",
        `onebit ${threads} thr ms`,
        "x 1 thr",
      ],
      results.map((r) => [
        r.shape,
        String(r.batch),
        r.onebit_ms,
        r.ort_ms,
        r.tfjs_wasm_ms,
        r.gmacs,
        r.speedup_vs_ort,
        r.speedup_vs_tfjs,
        r.onebit_threads_ms,
        r.threads_speedup,
      ]),
    )}\n`,
  );
}
