/**
 * `onebit bench conv-train`: one training pass of a float 3x3 'same' convolution, batch 64,
 * 28x28x32 -> 64 channels, single thread: the forward product and both gradients (dW, dx)
 * through the conv2d op and autograd on the "wasm" backend; also on --threads N threads
 * (default: all cores).
 * FLOPs = 3 x 2 x (64*28*28 pixels * 64 filters * 288 taps) = 5.55 GFLOP.
 *
 * Peers in the same run (alternated so that machine noise hits all alike):
 * - "kernels": the same math issued straight to the float kernels, no Tensor or graph, one
 *   im2col kept for both forward and dW (the op rebuilds it in backward to save memory);
 * - "tfjs-wasm": tfjs-backend-wasm's conv2d forward and conv2dTranspose (the input
 *   gradient); it has no filter-gradient kernel, so it does 2 of the 3 products and its
 *   GFLOP/s counts those 2.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { convGeometry } from "../kernels/geometry.js";
import { createBackend, resolveThreads } from "../kernels/index.js";
import { conv2d } from "../ops/conv2d.js";
import { Context } from "../tensor/context.js";
import { createContext } from "../tensor/index.js";
import { Random } from "../util/random.js";
import { type BenchOptions, environment, formatEnvironment, median, table, timeRuns } from "./util.js";

const [N, H, W, C, O, K] = [64, 28, 28, 32, 64, 3];
const PRODUCT_FLOPS = 2 * N * H * W * O * K * K * C;

interface TfTensor {
  dataSync(): Float32Array;
  dispose(): void;
}
interface Tfjs {
  tensor(values: Float32Array, shape: number[]): TfTensor;
  conv2d(x: TfTensor, filter: TfTensor, strides: number, pad: "same"): TfTensor;
  conv2dTranspose(dy: TfTensor, filter: TfTensor, shape: number[], strides: number, pad: "same"): TfTensor;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  env(): { set(flag: string, value: unknown): void; getAsync(flag: string): Promise<unknown> };
  version_core: string;
}

/** tfjs with the wasm backend, one thread; null (with the reason) when it cannot load. */
async function loadTfjs(): Promise<{ tf: Tfjs; label: string } | { tf: null; label: string }> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const tfModule = (await import("@tensorflow/tfjs")) as unknown as Tfjs & { default?: Tfjs };
    const wasmModule = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as {
      default?: unknown;
      setWasmPaths(prefix: string): void;
      setThreadsCount(n: number): void;
    };
    const tf = tfModule.default ?? tfModule;
    const require = createRequire(import.meta.url);
    wasmModule.setWasmPaths(
      `${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`,
    );
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasmModule.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialize");
    await tf.ready();
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    return { tf, label: `tfjs-backend-wasm ${tf.version_core} ${simd ? "simd" : "scalar"}, 1 thread` };
  } catch (e) {
    return { tf: null, label: `tfjs-backend-wasm unavailable: ${(e as Error).message}` };
  } finally {
    console.warn = warn;
  }
}

function random(rng: Random, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-scale, scale);
  return out;
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(options.runs ?? 5, 5);
  const ctx = await createContext("wasm");
  const rng = new Random(2024);
  const X = random(rng, N * H * W * C, 1);
  const Wt = random(rng, O * K * K * C, 0.1);
  const DY = random(rng, N * H * W * O, 1);

  // onebit: the conv2d op with autograd.
  const x = ctx.parameter(ctx.fromArray(X, [N, H, W, C]));
  const w = ctx.parameter(ctx.fromArray(Wt, [O, K, K, C]));
  const dy = ctx.keep(ctx.fromArray(DY, [N, H, W, O]));
  const autograd = () =>
    ctx.tidy(() => {
      conv2d(x, w, { padding: "same" }).backward(dy);
    });

  // The same op on --threads N threads (default: all cores), on its own backend.
  const threaded = await createBackend("wasm", { threads: await resolveThreads(options.threads) });
  const tctx = new Context(threaded);
  const [tx, tw] = [
    tctx.parameter(tctx.fromArray(X, [N, H, W, C])),
    tctx.parameter(tctx.fromArray(Wt, [O, K, K, C])),
  ];
  const tdy = tctx.keep(tctx.fromArray(DY, [N, H, W, O]));
  const autogradThreads = () =>
    tctx.tidy(() => {
      conv2d(tx, tw, { padding: "same" }).backward(tdy);
    });

  // onebit kernels called directly: im2col once, then y, dW, dcols, col2im.
  const f = ctx.float;
  const heap = ctx.heap;
  const g = convGeometry(N, H, W, C, K, K, 1, 1, "same");
  const pixels = N * g.outH * g.outW;
  const taps = K * K * C;
  const cols = heap.alloc(pixels * taps * 4);
  const y = heap.alloc(pixels * O * 4);
  const dw = heap.alloc(O * taps * 4);
  const dx = heap.alloc(X.length * 4);
  const kernels = () => {
    f.im2col(g, x.ptr, 0, cols);
    f.sgemm(false, true, pixels, O, taps, 1, cols, taps, w.ptr, taps, 0, y, O);
    f.sgemm(true, false, O, taps, pixels, 1, dy.ptr, O, cols, taps, 0, dw, taps);
    f.sgemm(false, false, pixels, taps, O, 1, dy.ptr, O, w.ptr, taps, 0, cols, taps);
    f.fill(X.length, 0, dx);
    f.col2im(g, cols, dx);
  };

  // tfjs-backend-wasm: forward and input gradient (filter HWIO).
  const peer = await loadTfjs();
  let tfjs: (() => void) | null = null;
  const tfTensors: TfTensor[] = [];
  if (peer.tf) {
    const tf = peer.tf;
    const hwio = new Float32Array(K * K * C * O);
    for (let o = 0; o < O; o++) for (let t = 0; t < K * K * C; t++) hwio[t * O + o] = Wt[o * K * K * C + t]!;
    const tx = tf.tensor(X, [N, H, W, C]);
    const tw = tf.tensor(hwio, [K, K, C, O]);
    const tdy = tf.tensor(DY, [N, H, W, O]);
    tfTensors.push(tx, tw, tdy);
    tfjs = () => {
      const out = tf.conv2d(tx, tw, 1, "same");
      const din = tf.conv2dTranspose(tdy, tw, [N, H, W, C], 1, "same");
      out.dataSync();
      din.dataSync();
      out.dispose();
      din.dispose();
    };
  }

  const times: Record<string, number[]> = { autograd: [], threads: [], kernels: [], tfjs: [] };
  for (let r = 0; r < runs; r++) {
    const warmup = r === 0 ? 1 : 0;
    times.autograd!.push(...(await timeRuns(autograd, { runs: 1, warmup, minMs: 50 })));
    times.threads!.push(...(await timeRuns(autogradThreads, { runs: 1, warmup, minMs: 50 })));
    times.kernels!.push(...(await timeRuns(kernels, { runs: 1, warmup, minMs: 50 })));
    if (tfjs) times.tfjs!.push(...(await timeRuns(tfjs, { runs: 1, warmup, minMs: 50 })));
  }

  // The op's gradients must match the direct kernels' (same kernels; only sgemm's beta differs).
  const dwOp = w.grad!;
  x.zeroGrad();
  w.zeroGrad();
  autograd();
  kernels();
  const same = (a: Float32Array, b: Float32Array) =>
    a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * (1 + Math.abs(v)));
  if (!same(dwOp.data, heap.f32At(dw, dwOp.size)) || !same(x.grad!.data, heap.f32At(dx, x.size))) {
    throw new Error("bench conv-train: the conv2d op's gradients differ from the direct kernel calls");
  }
  for (const p of [cols, y, dw, dx]) heap.free(p);
  for (const t of [x, w, dy]) t.dispose();
  for (const t of tfTensors) t.dispose();

  const ms = (k: string) => median(times[k]!);
  const gflops = (3 * PRODUCT_FLOPS) / ms("autograd") / 1e6;
  const threads = threaded.threads ?? 1;
  await threaded.close?.();
  const gflopsThreads = (3 * PRODUCT_FLOPS) / ms("threads") / 1e6;
  const env = { ...environment(), onebit: ctx.backend.name, peer: peer.label, runs, threads };
  if (options.json) {
    console.log(JSON.stringify({ gflops, gflops_threads: gflopsThreads, environment: env }));
    return;
  }
  console.log(formatEnvironment(env));
  console.log(
    `\nconv 3x3 'same', x [${N},${H},${W},${C}] -> ${O} channels: forward + dW + dx (${((3 * PRODUCT_FLOPS) / 1e9).toFixed(2)} GFLOP)\n`,
  );
  const rate = (flops: number, k: string) => flops / ms(k) / 1e6;
  const rows: (string | number)[][] = [
    ["onebit conv2d op + autograd", "y, dW, dx", ms("autograd"), gflops, 1],
    [`the same, ${threads} threads`, "y, dW, dx", ms("threads"), gflopsThreads, gflopsThreads / gflops],
    [
      "onebit kernels, no graph",
      "y, dW, dx",
      ms("kernels"),
      rate(3 * PRODUCT_FLOPS, "kernels"),
      rate(3 * PRODUCT_FLOPS, "kernels") / gflops,
    ],
  ];
  if (tfjs) {
    rows.push([
      "tfjs-wasm conv2d + conv2dTranspose",
      "y, dx",
      ms("tfjs"),
      rate(2 * PRODUCT_FLOPS, "tfjs"),
      rate(2 * PRODUCT_FLOPS, "tfjs") / gflops,
    ]);
  }
  console.log(table(["path", "computes", "median ms", "GFLOP/s", "GFLOP/s / op's"], rows));
  if (tfjs)
    console.log("\n(tfjs-backend-wasm has no filter-gradient kernel: its row does 2 of the 3 products)");
}
