/**
 * `onebit bench models`: images/s of the MNIST bnn-cnn exported to the engine against its
 * float twin (same topology, float weights, ReLU) run by onnxruntime-node (CPU, 1 intra-op
 * and 1 inter-op thread), at batch 64 and batch 1, in the same run.
 *
 * The models carry their initial weights (speed does not depend on them). The binary net
 * uses `last: "bwn"` (binary last layer): a float last layer on binary input has no engine
 * layer yet. The float twin is written to ONNX from its own weights and checked against
 * the training graph's eval forward before timing (max relative difference printed).
 */
import { Engine } from "../engine/runtime.js";
import { convertModel } from "../export/convert.js";
import { toOihw } from "../interop/export-onnx.js";
import { resolveThreads } from "../kernels/index.js";
import { buildModel } from "../nn/build.js";
import type { Model } from "../nn/model.js";
import { createContext } from "../tensor/index.js";
import { Random } from "../util/random.js";
import { interleavedMedians } from "./layers.js";
import { type OnnxGraph, onnxGraph } from "./layers-onnx.js";
import { type BenchOptions, environment, table } from "./util.js";

const PRE = { scale: 1 / 127.5, offset: -1 };
const BATCHES = [64, 1];

interface Ort {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      o: Record<string, unknown>,
    ): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }>;
  };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

/** [out, in] -> [in, out]. */
function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/** The float twin as an NCHW ONNX graph (a transpose to NHWC before flatten keeps the dense weights' order). */
export function floatTwinOnnx(model: Model, batch: number): Uint8Array {
  const g: OnnxGraph = {
    nodes: [],
    initializers: [],
    input: { name: "x", shape: [] },
    output: { name: "", shape: [] },
  };
  const [h, w, c] = model.inputShape as [number, number, number];
  g.input.shape = [batch, c, h, w];
  let cur = "x";
  let shape: readonly number[] = model.inputShape;
  model.layers.forEach((layer, i) => {
    const t = new Map<string, Float32Array>();
    for (const p of layer.params()) t.set(p.name, p.tensor.toArray());
    for (const b of layer.buffers()) t.set(b.name, b.tensor.toArray());
    const init = (name: string, s: number[], data: Float32Array) => {
      g.initializers.push({ name: `l${i}.${name}`, shape: s, data });
      return `l${i}.${name}`;
    };
    const node = (op: string, inputs: string[], attributes?: OnnxGraph["nodes"][number]["attributes"]) => {
      const out = `l${i}.${op}`;
      g.nodes.push({ op, inputs, outputs: [out], attributes });
      cur = out;
    };
    const cfg = layer.config as Record<string, unknown>;
    if (cfg.inputQuantizer || cfg.kernelQuantizer)
      throw new Error(`bench models: layers.${i} is quantized, not a float twin`);
    switch (layer.type) {
      case "quant_conv2d": {
        const k = cfg.kernelSize as number;
        const kernel = [cfg.filters as number, k, k, cfg.inChannels as number];
        if (cfg.padding !== "valid") throw new Error("bench models: only 'valid' convolutions");
        node("Conv", [cur, init("w", [kernel[0]!, kernel[3]!, k, k], toOihw(t.get("kernel")!, kernel))], {
          kernel_shape: [k, k],
          strides: [cfg.stride as number, cfg.stride as number],
        });
        break;
      }
      case "quant_dense": {
        const [o, n] = [cfg.units as number, cfg.inFeatures as number];
        node("MatMul", [cur, init("w", [n, o], transpose2d(t.get("kernel")!, o, n))]);
        break;
      }
      case "max_pool": {
        const { size, stride } = cfg as { size: number; stride: number };
        node("MaxPool", [cur], { kernel_shape: [size, size], strides: [stride, stride] });
        break;
      }
      case "batch_norm": {
        const ch = cfg.channels as number;
        const gamma = t.get("gamma") ?? new Float32Array(ch).fill(1);
        const beta = t.get("beta") ?? new Float32Array(ch);
        node(
          "BatchNormalization",
          [
            cur,
            init("g", [ch], gamma),
            init("b", [ch], beta),
            init("m", [ch], t.get("runningMean")!),
            init("v", [ch], t.get("runningVar")!),
          ],
          { epsilon: { float: cfg.eps as number } },
        );
        break;
      }
      case "activation":
        node(cfg.fn === "relu" ? "Relu" : "HardSigmoid", [cur]);
        break;
      case "flatten":
        if (shape.length === 3) node("Transpose", [cur], { perm: [0, 2, 3, 1] });
        node("Flatten", [cur], { axis: { int: 1 } });
        break;
      case "dropout":
        break;
      default:
        throw new Error(`bench models: no ONNX node for layer type '${layer.type}'`);
    }
    shape = layer.outputShape(shape);
  });
  g.output = { name: cur, shape: [batch, ...shape] };
  return onnxGraph(g);
}

function randomImages(count: number, size: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: count * size }, () => rng.int(256));
}

export interface ModelResult {
  model: string;
  batch: number;
  onebit_images_per_s: number;
  /** The same engine with the float first layer run layer by layer (no fused kernel). */
  onebit_unfused_images_per_s: number;
  ort_float_twin_images_per_s: number;
  speedup_vs_ort: number;
  /** The engine and onnxruntime on --threads N threads (default: all cores). */
  threads: number;
  onebit_threads_images_per_s: number;
  ort_float_twin_threads_images_per_s: number;
  /** onebit on N threads over onebit on 1 thread. */
  onebit_threads_speedup: number;
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(10, options.runs ?? 10);
  const ortModule = (await import("onnxruntime-node")) as unknown as Ort & { default?: Ort };
  const ort = ortModule.default ?? ortModule;
  const ctx = await createContext("wasm");
  const binary = buildModel(ctx, { builder: "bnn-cnn", options: { last: "bwn" } }, new Random(1));
  const twin = buildModel(ctx, { builder: "bnn-cnn", options: { float: true } }, new Random(2));
  const engineModel = convertModel(binary, { classNames: [..."0123456789"], preprocessing: PRE });
  const engine = await Engine.load(engineModel);
  const unfused = await Engine.load(engineModel, { fuse: false });
  const threads = await resolveThreads(options.threads);
  const threaded = await Engine.load(engineModel, { threads });
  const size = 784;
  const images = randomImages(64, size, 3);
  const floats = Float32Array.from(images, (v) => v * PRE.scale + PRE.offset);

  // The ONNX float twin must compute what the training graph computes.
  const check = await ort.InferenceSession.create(floatTwinOnnx(twin, 64), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const ortOut = Object.values(await check.run({ x: new ort.Tensor("float32", floats, [64, 1, 28, 28]) }))[0]!
    .data;
  const ours = ctx.noGrad(() =>
    twin.forward(ctx.fromArray(floats, [64, 28, 28, 1]), { training: false, rng: new Random(0) }).toArray(),
  );
  let maxRel = 0;
  for (let i = 0; i < ours.length; i++)
    maxRel = Math.max(maxRel, Math.abs(ours[i]! - ortOut[i]!) / Math.max(1e-3, Math.abs(ours[i]!)));

  const results: ModelResult[] = [];
  for (const batch of BATCHES) {
    const session = await ort.InferenceSession.create(floatTwinOnnx(twin, batch), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
    });
    // Its pool threads must not spin after a run: on 2 cores a spinning ORT thread takes
    // the core from whatever is timed next (the 1-thread engine ran at about half speed
    // after it, which inflated the engine's 2-thread speedup).
    const sessionThreads = await ort.InferenceSession.create(floatTwinOnnx(twin, batch), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    });
    const feed = { x: new ort.Tensor("float32", floats.subarray(0, batch * size), [batch, 1, 28, 28]) };
    const raw = images.subarray(0, batch * size);
    const [onebitMs, unfusedMs, ortMs, threadsMs, ortThreadsMs] = (await interleavedMedians(
      [
        () => engine.predict(raw),
        () => unfused.predict(raw),
        () => session.run(feed),
        () => threaded.predict(raw),
        () => sessionThreads.run(feed),
      ],
      runs,
    )) as [number, number, number, number, number];
    results.push({
      model: "bnn-cnn (MNIST)",
      batch,
      onebit_images_per_s: (1000 * batch) / onebitMs,
      onebit_unfused_images_per_s: (1000 * batch) / unfusedMs,
      ort_float_twin_images_per_s: (1000 * batch) / ortMs,
      speedup_vs_ort: ortMs / onebitMs,
      threads: threaded.backend.threads ?? 1,
      onebit_threads_images_per_s: (1000 * batch) / threadsMs,
      ort_float_twin_threads_images_per_s: (1000 * batch) / ortThreadsMs,
      onebit_threads_speedup: onebitMs / threadsMs,
    });
  }
  engine.dispose();
  unfused.dispose();
  threaded.dispose();
  const out = {
    environment: environment(),
    backend: engine.backend.name,
    runs,
    onnx_twin_max_relative_difference: maxRel,
    results,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  process.stdout.write(
    `${JSON.stringify(environment())}\nonebit engine (${engine.backend.name}) vs the float twin in onnxruntime-node, 1 thread (and ${threads} threads: last columns); medians of ${runs} runs\n` +
      `ONNX float twin vs the training graph: max relative difference ${maxRel.toExponential(2)}\n` +
      `${table(
        [
          "model",
          "batch",
          "onebit img/s",
          "unfused img/s",
          "ort float img/s",
          "x ort",
          `onebit ${threads} thr`,
          "x 1 thr",
          `ort ${threads} thr`,
        ],
        results.map((r) => [
          r.model,
          String(r.batch),
          r.onebit_images_per_s,
          r.onebit_unfused_images_per_s,
          r.ort_float_twin_images_per_s,
          r.speedup_vs_ort,
          r.onebit_threads_images_per_s,
          r.onebit_threads_speedup,
          r.ort_float_twin_threads_images_per_s,
        ]),
      )}\n`,
  );
}
