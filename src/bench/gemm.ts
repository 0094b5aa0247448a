/**
 * `onebit bench gemm`: single-thread float GEMM, onebit's WebAssembly sgemm against
 * tfjs-backend-wasm's matMul (XNNPACK), on the same inputs in the same run; and onebit's
 * sgemm on --threads N threads (default: all cores), kernel only, with its speedup.
 *
 * Cases: square 256/512/1024, the im2col GEMMs of the Larq MNIST tutorial CNN at batch 64
 * (forward y = cols * W^T with W stored [O, kh*kw*C]), the two gradient GEMMs of its
 * second conv (dW = dy^T * cols, dcols = dy * W) and a dense layer. Both sides produce
 * the product in a JS-visible array (tfjs: dataSync; onebit: a copy out of the heap), so
 * both really finish the work. GFLOP/s = 2 m n k / median seconds.
 *
 * tfjs-backend-wasm's matMul is much slower with transposeA/transposeB than without, so for
 * the transposed cases tfjs is also timed on pre-transposed copies (transpose not timed)
 * and the ratio is taken against the faster of the two: the peer at its best.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { createBackend, resolveThreads } from "../kernels/index.js";
import { Random } from "../util/random.js";
import { type BenchOptions, environment, formatEnvironment, median, table, timeRuns } from "./util.js";

export interface GemmCase {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export const GEMM_CASES: GemmCase[] = [
  { name: "square 256", m: 256, n: 256, k: 256, transA: false, transB: false },
  { name: "square 512", m: 512, n: 512, k: 512, transA: false, transB: false },
  { name: "square 1024", m: 1024, n: 1024, k: 1024, transA: false, transB: false },
  { name: "conv1 28x28x1->32 fwd", m: 64 * 26 * 26, n: 32, k: 9, transA: false, transB: true },
  { name: "conv2 13x13x32->64 fwd", m: 64 * 11 * 11, n: 64, k: 288, transA: false, transB: true },
  { name: "conv2 dW", m: 64, n: 288, k: 64 * 11 * 11, transA: true, transB: false },
  { name: "conv2 dcols", m: 64 * 11 * 11, n: 288, k: 64, transA: false, transB: false },
  { name: "conv3 5x5x64->64 fwd", m: 64 * 3 * 3, n: 64, k: 576, transA: false, transB: true },
  { name: "dense 784->1024 b100", m: 100, n: 1024, k: 784, transA: false, transB: true },
];

interface Tfjs {
  tensor2d(values: Float32Array, shape: [number, number]): { dispose(): void };
  matMul(
    a: unknown,
    b: unknown,
    transposeA: boolean,
    transposeB: boolean,
  ): { dataSync(): Float32Array; dispose(): void };
  transpose(x: unknown): { dispose(): void };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  version_core: string;
  env(): { set(flag: string, value: unknown): void; getAsync(flag: string): Promise<unknown> };
}

interface TfjsWasm {
  setWasmPaths(prefix: string, usePlatformFetch?: boolean): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Loads tfjs with the wasm backend, single-threaded; returns it and the flavor it loaded. */
async function loadTfjsWasm(): Promise<{ tf: Tfjs; flavor: string; threads: number; version: string }> {
  // tfjs greets Node users on stdout-free console.warn; keep --json output clean regardless.
  const warn = console.warn;
  console.warn = () => {};
  try {
    const tfModule = (await import("@tensorflow/tfjs")) as unknown as Tfjs & { default?: Tfjs };
    const wasmModule = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as TfjsWasm & {
      default?: TfjsWasm;
    };
    const tf = tfModule.default ?? tfModule;
    const wasm = wasmModule.default ?? wasmModule;
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
    // A directory prefix: tfjs appends the binary's file name.
    const dist = `${join(dirname(pkg), "dist")}/`;
    wasm.setWasmPaths(dist);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend failed to initialize");
    await tf.ready();
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threaded = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    const flavor = simd ? (threaded ? "threaded-simd" : "simd") : "scalar";
    return { tf, flavor, threads: wasm.getThreadsCount(), version: tf.version_core };
  } finally {
    console.warn = warn;
  }
}

/** Nominal clock (os.cpus() reports 0 on some virtual machines; /proc/cpuinfo knows). */
function cpuMhz(): number {
  const speed = os.cpus()[0]?.speed ?? 0;
  if (speed > 0) return speed;
  try {
    const match = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match ? Math.round(Number(match[1])) : 0;
  } catch {
    return 0;
  }
}

function randomMatrix(rng: Random, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-1, 1);
  return out;
}

export interface GemmResult {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** Product computed and copied out to a JS array (the primary figures). */
  onebit_ms: number;
  /** The faster of tfjs as called and tfjs on pre-transposed inputs, with dataSync. */
  tfjs_wasm_ms: number;
  onebit_gflops: number;
  tfjs_wasm_gflops: number;
  /** tfjs_wasm_ms / onebit_ms. */
  ratio: number;
  /** tfjs called with the same transpose flags as onebit, with dataSync. */
  tfjs_wasm_as_called_gflops: number;
  /** Kernel only: the product left in WebAssembly memory on both sides (no copy out). */
  onebit_kernel_gflops: number;
  tfjs_wasm_kernel_gflops: number;
  kernel_ratio: number;
  /** Kernel only on the --threads backend (default: all cores); speedup over onebit_kernel. */
  onebit_threads_kernel_gflops: number | null;
  threads_speedup: number | null;
  max_abs_diff: number;
}

type Timed = { name: string; fn: () => void };

/** Times each contender `runs` times, alternating so that machine noise hits them alike. */
async function timeAlternating(contenders: Timed[], runs: number): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of contenders) {
      times.get(c.name)!.push(...(await timeRuns(c.fn, { runs: 1, warmup: r === 0 ? 1 : 0, minMs: 50 })));
    }
  }
  return new Map([...times].map(([name, t]) => [name, median(t)]));
}

async function benchCase(
  c: GemmCase,
  float: Awaited<ReturnType<typeof createBackend>>["float"],
  tf: Tfjs,
  runs: number,
  threaded?: Awaited<ReturnType<typeof createBackend>>["float"],
): Promise<GemmResult> {
  const { heap } = float;
  const rng = new Random(c.m * 31 + c.n * 7 + c.k);
  const aRows = c.transA ? c.k : c.m;
  const aCols = c.transA ? c.m : c.k;
  const bRows = c.transB ? c.n : c.k;
  const bCols = c.transB ? c.k : c.n;
  const A = randomMatrix(rng, aRows * aCols);
  const B = randomMatrix(rng, bRows * bCols);

  const a = heap.alloc(A.byteLength);
  const b = heap.alloc(B.byteLength);
  const out = heap.alloc(c.m * c.n * 4);
  heap.f32At(a, A.length).set(A);
  heap.f32At(b, B.length).set(B);
  const sgemm = () => float.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, aCols, b, bCols, 0, out, c.n);

  const ta = tf.tensor2d(A, [aRows, aCols]);
  const tb = tf.tensor2d(B, [bRows, bCols]);
  const transposed = c.transA || c.transB;
  const taN = c.transA ? tf.transpose(ta) : ta;
  const tbN = c.transB ? tf.transpose(tb) : tb;
  const outputs = new Map<string, Float32Array>();
  const tfjs = (x: unknown, y: unknown, tA: boolean, tB: boolean, name: string | null) => () => {
    const product = tf.matMul(x, y, tA, tB);
    if (name) outputs.set(name, product.dataSync());
    product.dispose();
  };

  const contenders: Timed[] = [
    {
      name: "onebit",
      fn: () => {
        sgemm();
        outputs.set("onebit", heap.f32At(out, c.m * c.n).slice());
      },
    },
    { name: "tfjs", fn: tfjs(ta, tb, c.transA, c.transB, "tfjs") },
    { name: "onebit kernel", fn: sgemm },
    { name: "tfjs kernel", fn: tfjs(ta, tb, c.transA, c.transB, null) },
  ];
  // The same sgemm on the threaded backend (its own heap), kernel only.
  const par = threaded && [A, B, new Float32Array(c.m * c.n)].map((v) => threaded.heap.alloc(v.byteLength));
  if (threaded && par) {
    threaded.heap.f32At(par[0]!, A.length).set(A);
    threaded.heap.f32At(par[1]!, B.length).set(B);
    const [pa, pb, po] = par as [number, number, number];
    const fn = () => threaded.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, pa, aCols, pb, bCols, 0, po, c.n);
    contenders.push({ name: "onebit threads kernel", fn });
  }
  if (transposed) {
    contenders.push({ name: "tfjs NN", fn: tfjs(taN, tbN, false, false, "tfjs NN") });
    contenders.push({ name: "tfjs NN kernel", fn: tfjs(taN, tbN, false, false, null) });
  }
  const ms = await timeAlternating(contenders, runs);
  for (const t of new Set([ta, tb, taN, tbN])) t.dispose();
  heap.free(a);
  heap.free(b);
  heap.free(out);
  for (const p of par || []) threaded!.heap.free(p);

  const ours = outputs.get("onebit")!;
  let maxDiff = 0;
  for (const name of ["tfjs", "tfjs NN"]) {
    const theirs = outputs.get(name);
    if (!theirs) continue;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
  }
  if (!(maxDiff <= 1e-4 * Math.sqrt(c.k) * 4)) {
    throw new Error(`bench gemm ${c.name}: onebit and tfjs disagree by ${maxDiff}`);
  }
  const gflops = (t: number) => (2 * c.m * c.n * c.k) / t / 1e6;
  const best = (x: string, y: string) => Math.min(ms.get(x)!, ms.get(y) ?? Number.POSITIVE_INFINITY);
  const tfMs = best("tfjs", "tfjs NN");
  const tfKernelMs = best("tfjs kernel", "tfjs NN kernel");
  return {
    ...c,
    onebit_ms: ms.get("onebit")!,
    tfjs_wasm_ms: tfMs,
    onebit_gflops: gflops(ms.get("onebit")!),
    tfjs_wasm_gflops: gflops(tfMs),
    ratio: tfMs / ms.get("onebit")!,
    tfjs_wasm_as_called_gflops: gflops(ms.get("tfjs")!),
    onebit_kernel_gflops: gflops(ms.get("onebit kernel")!),
    tfjs_wasm_kernel_gflops: gflops(tfKernelMs),
    kernel_ratio: tfKernelMs / ms.get("onebit kernel")!,
    onebit_threads_kernel_gflops: ms.has("onebit threads kernel")
      ? gflops(ms.get("onebit threads kernel")!)
      : null,
    threads_speedup: ms.has("onebit threads kernel")
      ? ms.get("onebit kernel")! / ms.get("onebit threads kernel")!
      : null,
    max_abs_diff: maxDiff,
  };
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(options.runs ?? 5, 1);
  const backend = await createBackend("wasm");
  const threaded = await createBackend("wasm", { threads: await resolveThreads(options.threads) });
  const peer = await loadTfjsWasm();
  const results: GemmResult[] = [];
  for (const c of GEMM_CASES) results.push(await benchCase(c, backend.float, peer.tf, runs, threaded.float));
  await threaded.close?.();

  const env = {
    ...environment(),
    cpu_mhz: cpuMhz(),
    onebit: backend.name,
    onebit_threads: threaded.threads ?? 1,
    tfjs_wasm: `${peer.version} ${peer.flavor}, ${peer.threads} thread(s)`,
    runs,
  };
  const medianRatio = median(results.map((r) => r.ratio));
  const medianKernelRatio = median(results.map((r) => r.kernel_ratio));
  if (options.json) {
    console.log(
      JSON.stringify({
        results,
        median_ratio: medianRatio,
        median_kernel_ratio: medianKernelRatio,
        environment: env,
      }),
    );
    return;
  }
  console.log(formatEnvironment(env));
  console.log();
  console.log(
    table(
      [
        "case",
        "m",
        "n",
        "k",
        "op",
        "onebit",
        "tfjs",
        "tfjs as called",
        "ratio",
        "kernel: onebit",
        "tfjs",
        "ratio",
        `onebit ${threaded.threads ?? 1} thr`,
        "speedup",
      ],
      results.map((r) => [
        r.name,
        String(r.m),
        String(r.n),
        String(r.k),
        `${r.transA ? "T" : "N"}${r.transB ? "T" : "N"}`,
        r.onebit_gflops,
        r.tfjs_wasm_gflops,
        r.tfjs_wasm_as_called_gflops,
        r.ratio,
        r.onebit_kernel_gflops,
        r.tfjs_wasm_kernel_gflops,
        r.kernel_ratio,
        r.onebit_threads_kernel_gflops ?? "-",
        r.threads_speedup ?? "-",
      ]),
    ),
  );
  console.log(
    [
      "",
      "GFLOP/s, medians. First group: product copied out to a JS array (tfjs: dataSync). tfjs: the",
      "faster of tfjs as called and tfjs on pre-transposed inputs. ratio = tfjs time / onebit time.",
      "kernel: the product left in WebAssembly memory on both sides.",
      `median ratio: ${medianRatio.toFixed(2)}   median kernel ratio: ${medianKernelRatio.toFixed(2)}`,
    ].join("\n"),
  );
}
