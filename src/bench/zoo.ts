/**
 * `onebit bench zoo`: the ImageNet-size graph BNNs (Bi-Real-18, ReActNet on the Bi-Real
 * backbone, QuickNetSmall, QuickNet, QuickNetLarge at 224x224x3, 1000 classes, batch 1)
 * built in code with random weights and random batch-norm statistics (so thresholds are
 * spread), converted to `.onebit` 2.0 and run by the engine on 1 and N threads, against a
 * float ResNet-18 in onnxruntime-node (same thread count) and in tfjs-backend-wasm (one
 * thread), in the same run: per model, one timed run of each engine and peer per round,
 * round-robin, medians over the rounds.
 *
 * Reported per model: ms per image, effective binary GMAC/s (the model's binary MACs / its
 * time, so float work counts against it), the engine heap's high-water mark after a run
 * (weights, every activation buffer of the batch-1 plan and scratch: the WebAssembly
 * memory the engine needs; the JS heap and the converter are not in it), the `.onebit`
 * size, the speedups over the peers and the published anchors beside them.
 *
 *     onebit bench zoo                          # all five, 1 and 2 threads, both peers
 *     onebit bench zoo --models quicknet,bireal18 --threads 2 --runs 5 --peer ort
 *     onebit bench zoo --models quicknet --profile   # also per-layer-kind times
 *     onebit bench zoo --browser                # also each model in Chromium (zoo-browser.ts)
 */
import { type ModelSummary, summarizeEngineModel } from "../analysis/summary.js";
import { encodeModel } from "../engine/format.js";
import type { Layer as EngineLayer } from "../engine/model.js";
import { Engine } from "../engine/runtime.js";
import { convertModel } from "../export/convert.js";
import { buildModel } from "../nn/build.js";
import { createContext } from "../tensor/index.js";
import { Random } from "../util/random.js";
import { interleavedMedians, loadTfjs } from "./layers.js";
import { type ResNet, resnet18, resnetOnnx, resnetTfjs, type TfjsOps } from "./resnet18.js";
import { type BenchOptions, environment, median, table } from "./util.js";
import {
  type ChromiumInfo,
  type ChromiumModel,
  type ChromiumModelResult,
  type ChromiumZoo,
  chromiumTargets,
  formatChromium,
} from "./zoo-browser.js";
import { type Anchor, randomizeStatistics, ZOO, type ZooModel, zooSpec } from "./zoo-models.js";

/** Warm-up per engine and peer before the timed rounds. */
const WARM_MS = 1000;

export { type Anchor, randomizeStatistics, ZOO, type ZooModel, zooSpec } from "./zoo-models.js";

const PRE = { scale: 1 / 127.5, offset: -1 };

export type Peer = "ort" | "tfjs";

export interface ZooArgs {
  models: ZooModel[];
  /** Engine thread counts; 1 first. */
  threads: number[];
  runs: number;
  peers: Peer[];
  profile: boolean;
  inputShape: [number, number, number];
  classes: number;
  /** First-stage width of the ResNet-18 peer (64; smaller only in tests). */
  peerWidth: number;
  /** Also run each model in Chromium, in the same rounds (--browser). */
  browser?: boolean;
}

/**
 * The bench's options: --models a,b (ids of ZOO, default all), --threads N (1 and N;
 * default 1 and 2; 1: one thread only), --runs (default 10, at least 3), --peer
 * ort,tfjs | ort | tfjs | none, --profile, --browser.
 */
export function parseZooArgs(o: BenchOptions): ZooArgs {
  const ids = o.models
    ? o.models
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : ZOO.map((m) => m.id);
  const models = ids.map((id) => {
    const m = ZOO.find((z) => z.id === id);
    if (!m)
      throw new RangeError(
        `bench zoo: unknown model '${id}'; choose from ${ZOO.map((z) => z.id).join(", ")}`,
      );
    return m;
  });
  if (models.length === 0) throw new RangeError("bench zoo: --models lists no model");
  const n = o.threads ?? 2;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`bench zoo: --threads must be a positive integer, got ${n}`);
  const runs = o.runs ?? 10;
  if (!Number.isInteger(runs) || runs < 1)
    throw new RangeError(`bench zoo: --runs must be a positive integer, got ${runs}`);
  const peerArg = o.peer ?? "ort,tfjs";
  const peers =
    peerArg === "none"
      ? []
      : peerArg.split(",").map((p) => {
          const s = p.trim();
          if (s !== "ort" && s !== "tfjs")
            throw new RangeError(`bench zoo: --peer takes ort, tfjs, ort,tfjs or none, got '${peerArg}'`);
          return s as Peer;
        });
  return {
    models,
    threads: n === 1 ? [1] : [1, n],
    runs: Math.max(3, runs),
    peers: [...new Set(peers)],
    profile: o.profile ?? false,
    browser: o.browser ?? false,
    inputShape: [224, 224, 3],
    classes: 1000,
    peerWidth: 64,
  };
}

export interface EngineRun {
  threads: number;
  ms: number;
  binary_gmacs: number;
  /** Engine heap high-water mark (WebAssembly memory taken) after the runs, bytes. */
  heap_bytes: number;
  /** The same right after loading, before the first run: the weights as the engine holds them. */
  heap_after_load_bytes: number;
  /** ResNet-18 time / onebit time at the same thread count (absent without the peer). */
  speedup_vs_ort?: number;
  /** ResNet-18 in tfjs-wasm (1 thread) time / onebit time; 1-thread rows only. */
  speedup_vs_tfjs?: number;
  /** onebit 1 thread / this; rows with more threads. */
  speedup_vs_1_thread?: number;
}

export interface ZooModelResult {
  id: string;
  label: string;
  input_shape: number[];
  classes: number;
  binary_macs: number;
  float_macs: number;
  file_bytes: number;
  runs: EngineRun[];
  /** The peers' medians in this model's rounds: onnxruntime per thread count, tfjs-wasm. */
  peers: { ort_ms?: Record<string, number>; tfjs_wasm_ms?: number };
  anchors: Anchor[];
  profile?: ProfileRow[][];
  /** With --browser: the same engines in Chromium. */
  chromium?: ChromiumModelResult;
}

export interface ProfileRow {
  threads: number;
  group: string;
  layers: number;
  ms: number;
  share: number;
}

export interface ZooReport {
  environment: Record<string, string | number>;
  backend: string;
  runs: number;
  threads: number[];
  peer: { model: string; macs: number; ort_vs_tfjs_max_relative_difference?: number };
  models: ZooModelResult[];
  /** With --browser: the browser and the page's kernels. */
  chromium?: ChromiumInfo;
  targets: { what: string; target: string; measured: number; met: boolean }[];
}

interface Ort {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      o: Record<string, unknown>,
    ): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>>;
      release?(): Promise<void>;
    }>;
  };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

type Timed = () => unknown;

interface Peers {
  /** One timed function per entry in args.threads (onnxruntime), or none. */
  ort: Timed[];
  tfjs?: Timed;
  maxRelDiff?: number;
  close: () => Promise<void>;
}

async function makePeers(args: ZooArgs, net: ResNet, pixels: Float32Array): Promise<Peers> {
  const [h, w, c] = args.inputShape;
  const nchw = new Float32Array(pixels.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) nchw[(k * h + y) * w + x] = pixels[(y * w + x) * c + k]!;
  const peers: Peers = { ort: [], close: async () => {} };
  const closers: (() => Promise<void> | void)[] = [];
  let ortScores: Float32Array | undefined;
  if (args.peers.includes("ort")) {
    const ortModule = (await import("onnxruntime-node")) as unknown as Ort & { default?: Ort };
    const ort = ortModule.default ?? ortModule;
    const bytes = resnetOnnx(net, 1);
    const feed = { x: new ort.Tensor("float32", nchw, [1, c, h, w]) };
    for (const t of args.threads) {
      // No spinning pool threads: on 2 shared cores a spinning thread takes the core from
      // whatever is timed next (see bench models).
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: t,
        interOpNumThreads: 1,
        executionProviders: ["cpu"],
        graphOptimizationLevel: "all",
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      if (!ortScores) ortScores = Object.values(await session.run(feed))[0]!.data.slice();
      peers.ort.push(() => session.run(feed));
      closers.push(() => session.release?.());
    }
  }
  if (args.peers.includes("tfjs")) {
    const tf = (await loadTfjs()) as unknown as TfjsOps;
    const model = resnetTfjs(tf, net, 1);
    const x = model.input(pixels);
    const scores = model.forward(x);
    if (ortScores) {
      let max = 0;
      const scale = Math.max(...Array.from(ortScores, Math.abs), 1e-6);
      for (let i = 0; i < scores.length; i++)
        max = Math.max(max, Math.abs(scores[i]! - ortScores[i]!) / scale);
      peers.maxRelDiff = max;
    }
    peers.tfjs = () => model.forward(x);
    closers.push(() => {
      x.dispose();
      model.dispose();
    });
  }
  peers.close = async () => {
    for (const f of closers) await f();
  };
  return peers;
}

/** The group a layer's time is reported under: binary and float convs by shape, the rest by kind. */
export function layerGroup(layer: EngineLayer): string {
  const shape = (s: readonly number[]) => s.join("x");
  switch (layer.kind) {
    case "binary_conv2d": {
      const [o, kh, kw] = layer.weights.shape;
      const inC = layer.in.shape[layer.in.shape.length - 1];
      return `binary_conv2d ${kh}x${kw}/${layer.strides[0]} ${shape(layer.in.shape.slice(0, 2))}x${inC}->${o} (${layer.output.kind})`;
    }
    case "float_conv2d": {
      const [o, kh, kw] = layer.weights.shape;
      return `float_conv2d ${kh}x${kw}/${layer.strides[0]} ${shape(layer.in.shape)}->${o}`;
    }
    case "depthwise_conv2d": {
      const [kh, kw] = layer.weights.shape;
      return `depthwise_conv2d ${kh}x${kw}/${layer.strides[0]} ${shape(layer.in.shape)}`;
    }
    case "bitpack":
      return layer.thresholds ? "bitpack (thresholds)" : "bitpack";
    case "maxpool":
    case "avgpool":
      return `${layer.kind} (${layer.in.layout})`;
    default:
      return layer.kind;
  }
}

/** Per-group totals of per-layer times, largest first. */
export function groupProfile(
  threads: number,
  layers: readonly { layer: EngineLayer; ms: number }[],
): ProfileRow[] {
  const groups = new Map<string, { layers: number; ms: number }>();
  let total = 0;
  for (const { layer, ms } of layers) {
    const key = layerGroup(layer);
    const g = groups.get(key) ?? { layers: 0, ms: 0 };
    g.layers++;
    g.ms += ms;
    total += ms;
    groups.set(key, g);
  }
  return [...groups.entries()]
    .map(([group, g]) => ({
      threads,
      group,
      layers: g.layers,
      ms: g.ms,
      share: total > 0 ? g.ms / total : 0,
    }))
    .sort((a, b) => b.ms - a.ms);
}

interface StepLike {
  layer: EngineLayer;
  run(): void;
}

/**
 * Times each step of the engine's batch-1 predict plan on its own (median of `reps`
 * calls, after one `predict` has filled every buffer). The steps are the engine's private
 * plan (there is no public per-layer timing API): if that changes, this throws.
 */
function profileEngine(
  engine: Engine,
  image: Uint8Array,
  reps: number,
): { layer: EngineLayer; ms: number }[] {
  engine.predict(image);
  const internal = engine as unknown as { plan?: (n: number, fused: boolean) => { steps: StepLike[] } };
  if (typeof internal.plan !== "function")
    throw new Error("bench zoo --profile: the engine has no plan(n, fused)");
  const steps = internal.plan.call(engine, 1, true).steps;
  return steps.slice(1).map((s) => {
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      s.run();
      times.push(performance.now() - t0);
    }
    return { layer: s.layer, ms: median(times) };
  });
}

function randomPixels(n: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** Runs the bench and returns its report (no printing). */
export async function runZoo(args: ZooArgs, log: (line: string) => void = () => {}): Promise<ZooReport> {
  const ctx = await createContext("wasm");
  const size = args.inputShape[0] * args.inputShape[1] * args.inputShape[2];
  const image = randomPixels(size, 11);
  const pixels = Float32Array.from(image, (v) => v * PRE.scale + PRE.offset);
  const net = resnet18(args.inputShape, args.classes, args.peerWidth);
  const peers = await makePeers(args, net, pixels);
  const classNames = Array.from({ length: args.classes }, (_, i) => String(i));
  const models: ZooModelResult[] = [];
  let backendName = "";
  let chromium: ChromiumZoo | undefined;
  try {
    if (args.browser) {
      const tfjs = args.peers.includes("tfjs")
        ? { inputShape: args.inputShape, classes: args.classes, width: args.peerWidth }
        : undefined;
      chromium = await (await import("./zoo-browser.js")).ChromiumZoo.open(image, tfjs);
    }
    for (const [index, m] of args.models.entries()) {
      const model = buildModel(ctx, zooSpec(m, args.inputShape, args.classes), new Random(100 + index));
      randomizeStatistics(model, 200 + index);
      const engineModel = convertModel(model, { classNames, preprocessing: PRE });
      model.dispose();
      const bytes = encodeModel(engineModel);
      const summary: ModelSummary = summarizeEngineModel(engineModel, bytes.length);
      const engines: Engine[] = [];
      const loaded: number[] = [];
      for (const t of args.threads) {
        const e = await Engine.load(bytes, { threads: t, maxBatch: 1 });
        engines.push(e);
        loaded.push(e.backend.heap.reserved);
      }
      backendName = engines[0]!.backend.name;
      const fns: Timed[] = [...engines.map((e) => () => e.predict(image)), ...peers.ort];
      if (peers.tfjs) fns.push(peers.tfjs);
      const inPage: ChromiumModel | undefined = await chromium?.load(
        m.id,
        bytes,
        args.threads,
        engines[0]!.predict(image).scores,
      );
      if (inPage) fns.push(...inPage.timed);
      // A second of calls each first: V8 moves a wasm function from its baseline compiler to
      // the optimizing one only after some calls, and the first model timed in a process
      // (Bi-Real-18, whose float stem is 6 ms of sgemm) measured 26 ms instead of 19 in some
      // runs after two warm-up calls.
      const ms = await interleavedMedians(fns, args.runs, 0, WARM_MS);
      const ortMs = ms.slice(engines.length, engines.length + peers.ort.length);
      const tfjsMs = peers.tfjs ? ms[engines.length + peers.ort.length] : undefined;
      const binary = summary.totals.macs.binary;
      const runs: EngineRun[] = engines.map((e, i) => {
        const t = args.threads[i]!;
        const r: EngineRun = {
          threads: e.backend.threads ?? 1,
          ms: ms[i]!,
          binary_gmacs: binary / (ms[i]! * 1e6),
          heap_bytes: e.backend.heap.reserved,
          heap_after_load_bytes: loaded[i]!,
        };
        if (ortMs.length) r.speedup_vs_ort = ortMs[i]! / ms[i]!;
        if (tfjsMs !== undefined && t === 1) r.speedup_vs_tfjs = tfjsMs / ms[i]!;
        if (i > 0) r.speedup_vs_1_thread = ms[0]! / ms[i]!;
        return r;
      });
      const result: ZooModelResult = {
        id: m.id,
        label: m.label,
        input_shape: [...args.inputShape],
        classes: args.classes,
        binary_macs: binary,
        float_macs: summary.totals.macs.float,
        file_bytes: bytes.length,
        runs,
        peers: {
          ort_ms: ortMs.length
            ? Object.fromEntries(args.threads.map((t, i) => [String(t), ortMs[i]!]))
            : undefined,
          tfjs_wasm_ms: tfjsMs,
        },
        anchors: m.anchors,
      };
      if (inPage) result.chromium = inPage.result(ms.slice(0, engines.length), args.runs);
      if (args.profile)
        result.profile = engines.map((e, i) => groupProfile(args.threads[i]!, profileEngine(e, image, 5)));
      for (const e of engines) e.dispose();
      models.push(result);
      log(`${m.label}: ${runs.map((r) => `${r.ms.toFixed(1)} ms on ${r.threads} thr`).join(", ")}`);
    }
  } finally {
    await chromium?.close();
    await peers.close();
  }
  return {
    environment: environment(),
    backend: backendName,
    runs: args.runs,
    threads: args.threads,
    peer: {
      model: `ResNet-18 float (width ${args.peerWidth}), ${args.inputShape.join("x")}, ${args.classes} classes`,
      macs: net.macs,
      ort_vs_tfjs_max_relative_difference: peers.maxRelDiff,
    },
    models,
    chromium: chromium?.info,
    targets: [...targets(models), ...chromiumTargets(models)],
  };
}

/** The issue's targets, for the models and threads measured. */
export function targets(models: readonly ZooModelResult[]): ZooReport["targets"] {
  const out: ZooReport["targets"] = [];
  const check = (what: string, target: string, measured: number | undefined, met: (x: number) => boolean) => {
    if (measured !== undefined && Number.isFinite(measured))
      out.push({ what, target, measured, met: met(measured) });
  };
  const goals: Record<string, { ort: number; ms: number }> = {
    quicknet: { ort: 1.5, ms: 15 },
    bireal18: { ort: 1.2, ms: 20 },
  };
  for (const m of models) {
    const goal = goals[m.id];
    if (!goal) continue;
    const one = m.runs.find((r) => r.threads === 1);
    check(`${m.label} 1 thread ms`, `<= ${goal.ms}`, one?.ms, (x) => x <= goal.ms);
    check(`${m.label} x ort, 1 thread`, `>= ${goal.ort}`, one?.speedup_vs_ort, (x) => x >= goal.ort);
    check(`${m.label} x tfjs-wasm, 1 thread`, ">= 8", one?.speedup_vs_tfjs, (x) => x >= 8);
    for (const r of m.runs.filter((r) => r.threads > 1)) {
      check(
        `${m.label} x ort, ${r.threads} threads`,
        `>= ${goal.ort}`,
        r.speedup_vs_ort,
        (x) => x >= goal.ort,
      );
      check(`${m.label} ${r.threads} threads x 1 thread`, ">= 1.7", r.speedup_vs_1_thread, (x) => x >= 1.7);
    }
  }
  return out;
}

/** Binary megabytes, the unit of Larq Zoo's published sizes (see zoo-models.ts). */
const MiB = 1024 * 1024;

/** The report as text: environment, the model table, the targets and (with --profile) the per-layer-kind times. */
export function formatZoo(r: ZooReport): string {
  const anchor = (m: ZooModelResult, unit: Anchor["unit"]) =>
    m.anchors
      .filter((a) => a.unit === unit)
      .map((a) => `${a.what} ${a.value}`)
      .join(", ") || "-";
  const rows = r.models.flatMap((m) =>
    m.runs.map((run, i) => [
      i === 0 ? m.label : "",
      String(run.threads),
      run.ms,
      run.binary_gmacs,
      i === 0 ? (m.binary_macs / 1e9).toFixed(3) : "",
      run.heap_after_load_bytes / MiB,
      run.heap_bytes / MiB,
      i === 0 ? (m.file_bytes / MiB).toFixed(2) : "",
      run.speedup_vs_ort ?? "-",
      run.speedup_vs_tfjs ?? "-",
      run.speedup_vs_1_thread ?? "-",
      i === 0 ? anchor(m, "ms") : "",
      i === 0 ? anchor(m, "MiB") : "",
    ]),
  );
  const peerRows = r.models.flatMap((m) => [
    ...Object.entries(m.peers.ort_ms ?? {}).map(([t, ms]) => [m.label, `onnxruntime ${t} thr`, ms]),
    ...(m.peers.tfjs_wasm_ms !== undefined ? [[m.label, "tfjs-wasm 1 thr", m.peers.tfjs_wasm_ms]] : []),
  ]);
  const parts = [
    JSON.stringify(r.environment),
    `onebit engine (${r.backend}), batch 1, ${r.models[0]?.input_shape.join("x") ?? ""}, random weights and BN statistics; ` +
      `medians of ${r.runs} rounds (engines and peers round-robin per model)`,
    "GMAC/s = binary MACs / time; load / heap = the engine's WebAssembly heap high-water mark after loading (weights) / after the runs (+ batch-1 buffers and scratch); " +
      "x ort / x tfjs = the peer's ResNet-18 time / onebit's (ort at the same thread count, tfjs-wasm on 1 thread)",
    table(
      [
        "model",
        "thr",
        "ms/img",
        "GMAC/s",
        "bin GMAC",
        "load MiB",
        "heap MiB",
        "file MiB",
        "x ort",
        "x tfjs",
        "x 1 thr",
        "published ms (1 core)",
        "published MiB",
      ],
      rows,
    ),
  ];
  if (peerRows.length) {
    const diff = r.peer.ort_vs_tfjs_max_relative_difference;
    parts.push(
      `\npeer: ${r.peer.model}, ${(r.peer.macs / 1e9).toFixed(3)} G MACs` +
        (diff !== undefined
          ? `; onnxruntime vs tfjs scores: max relative difference ${diff.toExponential(2)}`
          : ""),
      table(["in the rounds of", "peer", "ms/img"], peerRows),
    );
  }
  if (r.chromium) parts.push(formatChromium(r.chromium, r.models));
  if (r.targets.length) {
    parts.push(
      "\ntargets",
      table(
        ["what", "target", "measured", "met"],
        r.targets.map((t) => [t.what, t.target, t.measured, t.met ? "yes" : "NO"]),
      ),
    );
  }
  for (const m of r.models) {
    for (const rows of m.profile ?? []) {
      const total = rows.reduce((s, x) => s + x.ms, 0);
      parts.push(
        `\nprofile: ${m.label}, ${rows[0]?.threads ?? 1} thread(s), each engine layer timed alone (median of 5), sum ${total.toFixed(2)} ms`,
        table(
          ["layer group", "layers", "ms", "share"],
          rows.map((x) => [x.group, String(x.layers), x.ms, `${(100 * x.share).toFixed(1)}%`]),
        ),
      );
    }
  }
  return `${parts.join("\n")}\n`;
}

export async function run(options: BenchOptions): Promise<void> {
  const args = parseZooArgs(options);
  const report = await runZoo(args, options.json ? undefined : (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatZoo(report));
}
