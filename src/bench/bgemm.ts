/**
 * `onebit bench bgemm`: raw binary GEMM throughput on one thread, in GMAC/s (one bit pair
 * = one MAC), at the GEMM shapes of 3x3 convolutions at batch 1 (M = output pixels,
 * N = filters, K = 9 * input channels). Compared in the same run: the default kernel in
 * the SIMD build (i64.popcnt, 2x2 tile), the same kernel in the scalar build, the v128
 * i8x16.popcnt variant, the plain TypeScript reference, and the whole binary conv
 * (conv2d, int32 out: the direct kernel for these shapes) in the SIMD build, and the SIMD GEMM on --threads N
 * threads (default: all cores); then the sign-packing throughput, and the XOR-popcount
 * ceiling of this runtime (bare loops, no GEMM: what no binary kernel can beat).
 */
import type { BinaryKernels } from "../kernels/binaryTypes.js";
import { bconv2dScratchWords } from "../kernels/binaryTypes.js";
import { convGeometry } from "../kernels/geometry.js";
import { Heap } from "../kernels/heap.js";
import { createBackend, resolveThreads } from "../kernels/index.js";
import { createRefBinaryKernels } from "../kernels/ref/binary.js";
import { createWasmBinaryKernels } from "../kernels/wasm/binary.js";
import { type KernelModule, loadKernelModule } from "../kernels/wasm/module.js";
import { Random } from "../util/random.js";
import { type BenchOptions, environment, median, table, timeRuns } from "./util.js";

/** [h = w, input channels, filters] of the 3x3 'same' conv layers the shapes come from. */
const LAYERS: readonly [number, number, number][] = [
  [56, 64, 64],
  [28, 128, 128],
  [14, 256, 256],
  [7, 512, 512],
];

interface Operands {
  a: number;
  b: number;
  out: number;
}

function randomWords(heap: Heap, count: number, rng: Random): number {
  const ptr = heap.alloc(count * 4);
  const view = heap.u32At(ptr, count);
  for (let i = 0; i < count; i++) view[i] = rng.nextUint32();
  return ptr;
}

/** Random packed operands (no tail bits: K is a multiple of 32 in every shape here). */
function operands(heap: Heap, m: number, n: number, words: number, seed: number): Operands {
  const rng = new Random(seed);
  return {
    a: randomWords(heap, m * words, rng),
    b: randomWords(heap, n * words, rng),
    out: heap.alloc(m * n * 4),
  };
}

async function gmacs(fn: () => void, macs: number, runs: number, minMs: number): Promise<number> {
  const times = await timeRuns(fn, { runs, warmup: 2, minMs });
  return macs / (median(times) * 1e6);
}

/** Packing float signs into bits (the input of every binary layer), G elements/s. */
async function packThroughput(simd: KernelModule, scalar: KernelModule, runs: number) {
  const rows: Record<string, number>[] = [];
  for (const [size, c] of LAYERS) {
    const count = size * size;
    const row: Record<string, number> = { rows: count, c };
    for (const mod of [simd, scalar]) {
      const x = mod.heap.alloc(count * c * 4);
      const view = mod.heap.f32At(x, count * c);
      const rng = new Random(4);
      for (let i = 0; i < view.length; i++) view[i] = rng.uniform(-1, 1);
      const bits = mod.heap.alloc(count * (c / 8));
      const times = await timeRuns(() => mod.exports.bitPack!(count, c, x, bits), {
        runs,
        warmup: 2,
        minMs: 50,
      });
      row[`gelems_${mod.flavor}`] = (count * c) / (median(times) * 1e6);
    }
    rows.push(row);
  }
  return rows;
}

/** Operand length of the popcount probe, bytes (8192 bits, a multiple of its 128-byte step). */
const PROBE_BYTES = 1024;

/**
 * The XOR-popcount ceiling (assembly/probe/popcount.ts), in GMAC/s (= bits/ns): bare loops
 * over L1-resident operands for i64.popcnt, i8x16.popcnt and Harley-Seal on v128 (all three
 * must count the same bits), and i64.popcnt on registers only, the CPU's popcount rate,
 * which no binary kernel can beat.
 */
async function popcountCeiling(runs: number): Promise<Record<string, number>> {
  const { readFile } = await import("node:fs/promises");
  const bytes = await readFile(new URL("../../build/wasm/onebit-probe.wasm", import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { abort: () => undefined } });
  const e = instance.exports as Record<string, (...args: number[]) => bigint> & {
    memory: WebAssembly.Memory;
  };
  if (e.memory.buffer.byteLength < 65536) e.memory.grow(1);
  const a = 1024;
  const b = a + PROBE_BYTES;
  const u32 = new Uint32Array(e.memory.buffer, a, (2 * PROBE_BYTES) / 4);
  const rng = new Random(5);
  for (let i = 0; i < u32.length; i++) u32[i] = rng.nextUint32();
  const reps = 2000;
  const row: Record<string, number> = { bits: PROBE_BYTES * 8 };
  const counts = new Set<bigint>();
  for (const [key, name] of [
    ["gmacs_i64_popcnt", "xorPopcountScalar"],
    ["gmacs_i8x16_popcnt", "xorPopcountV128"],
    ["gmacs_harley_seal", "xorPopcountHarleySeal"],
  ] as const) {
    const f = e[name]!;
    counts.add(f(a, b, PROBE_BYTES, 1));
    const times = await timeRuns(() => f(a, b, PROBE_BYTES, reps), { runs, warmup: 2, minMs: 50 });
    row[key] = (PROBE_BYTES * 8 * reps) / (median(times) * 1e6);
  }
  if (counts.size !== 1)
    throw new Error(`popcount probe: the three loops disagree (${[...counts].join(", ")})`);
  const regReps = 20_000_000;
  const regTimes = await timeRuns(() => e.popcountRegisters!(regReps), { runs, warmup: 1, minMs: 50 });
  row.gmacs_registers = (64 * 8 * regReps) / (median(regTimes) * 1e6);
  return row;
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(options.runs ?? 7, 5);
  const simd = await loadKernelModule({ flavor: "simd" });
  const scalar = await loadKernelModule({ flavor: "scalar" });
  const ref = createRefBinaryKernels(new Heap());
  const simdKernels = createWasmBinaryKernels(simd);
  const threaded = await createBackend("wasm-simd", { threads: await resolveThreads(options.threads) });
  const results: Record<string, number>[] = [];
  for (const [size, c, filters] of LAYERS) {
    const m = size * size;
    const n = filters;
    const k = 9 * c;
    const words = k / 32;
    const macs = m * n * k;
    const time = async (kern: BinaryKernels | KernelModule, variant: "bgemm" | "bgemmV128", minMs = 100) => {
      const ops = operands(kern.heap, m, n, words, 1);
      if ("exports" in kern) {
        const f = kern.exports[variant]!;
        return gmacs(() => f(m, n, words, k, ops.a, ops.b, ops.out), macs, runs, minMs);
      }
      return gmacs(() => kern.bgemm(m, n, words, k, ops.a, ops.b, ops.out), macs, runs, minMs);
    };
    const row: Record<string, number> = { m, n, k };
    row.gmacs_simd = await time(simd, "bgemm");
    row.gmacs_simd_threads = await time(threaded.binary, "bgemm");
    row.gmacs_scalar = await time(scalar, "bgemm");
    row.gmacs_v128_popcnt = await time(simd, "bgemmV128");
    row.gmacs_ref = await time(ref, "bgemm", 20);
    // The whole conv (conv2d: the direct kernel at these shapes, int32 out, pad -1).
    const g = convGeometry(1, size, size, c, 3, 3, 1, 1, "same");
    const heap = simd.heap;
    const x = randomWords(heap, (size * size * c) / 32, new Random(2));
    const w = randomWords(heap, (filters * k) / 32, new Random(3));
    const cols = heap.alloc(bconv2dScratchWords(g) * 4);
    const out = heap.alloc(m * n * 4);
    const convTimes = await timeRuns(() => simdKernels.conv2d(g, -1, n, x, w, cols, out), {
      runs,
      warmup: 2,
      minMs: 100,
    });
    row.conv_ms_simd = median(convTimes);
    results.push(row);
  }
  const pack = await packThroughput(simd, scalar, runs);
  const ceiling = await popcountCeiling(runs);
  const threads = threaded.threads ?? 1;
  await threaded.close?.();
  if (options.json) {
    console.log(
      JSON.stringify({
        benchmark: "bgemm",
        environment: environment(),
        runs,
        threads,
        results,
        pack,
        ceiling,
      }),
    );
    return;
  }
  console.log(
    `binary GEMM, GMAC/s (median of ${runs} runs), one thread unless noted; environment:`,
    environment(),
  );
  console.log(
    table(
      [
        "m",
        "n",
        "k",
        "simd",
        `simd ${threads} thr`,
        "speedup",
        "scalar",
        "v128 popcnt",
        "ref",
        "simd/ref",
        "conv ms (simd)",
        "conv GMAC/s",
      ],
      results.map((r) => [
        String(r.m),
        String(r.n),
        String(r.k),
        r.gmacs_simd!,
        r.gmacs_simd_threads!,
        r.gmacs_simd_threads! / r.gmacs_simd!,
        r.gmacs_scalar!,
        r.gmacs_v128_popcnt!,
        r.gmacs_ref!,
        r.gmacs_simd! / r.gmacs_ref!,
        r.conv_ms_simd!,
        (r.m! * r.n! * r.k!) / (r.conv_ms_simd! * 1e6),
      ]),
    ),
  );
  console.log(
    `\nXOR-popcount ceiling: bare loops over ${ceiling.bits} L1-resident bits, and on registers only, GMAC/s (median of ${runs} runs)`,
  );
  console.log(
    table(
      ["i64.popcnt", "i8x16.popcnt", "Harley-Seal v128", "i64.popcnt on registers (the limit)"],
      [
        [
          ceiling.gmacs_i64_popcnt!,
          ceiling.gmacs_i8x16_popcnt!,
          ceiling.gmacs_harley_seal!,
          ceiling.gmacs_registers!,
        ],
      ],
    ),
  );
  console.log(`\npacking float32 signs into bits, G elements/s (median of ${runs} runs)`);
  console.log(
    table(
      ["rows", "c", "simd", "scalar", "simd/scalar"],
      pack.map((r) => [
        String(r.rows),
        String(r.c),
        r.gelems_simd!,
        r.gelems_scalar!,
        r.gelems_simd! / r.gelems_scalar!,
      ]),
    ),
  );
}
