/**
 * `onebit bench threads [--threads N]`: the same jobs on 1 thread and on N threads
 * (default: all cores), timed round-robin in one run (one timed run of each per round, so
 * machine noise hits both alike); medians, the speedup, and whether the outputs are
 * bit-identical. Jobs: sgemm (square and a conv's im2col product), binary GEMM (a conv's
 * and a batch-64 dense layer's), a binary 3x3 conv with zero padding, a float conv layer's
 * forward + both gradients through autograd, and one training step (forward, backward,
 * Adam) of bnn-mlp 3x1024 at batch 100 and of bnn-cnn at batch 64. Outputs are compared
 * after one run of each. The process CPU time per call is reported too: on a machine busy
 * with other work the wall-time speedup is capped by the CPU share the process gets, while
 * CPU time on N threads close to CPU time on 1 thread shows the split costs little; "cores
 * used" (CPU time / wall time on N threads) shows how many cores the machine gave.
 */
import os from "node:os";
import { type Backend, convGeometry, createBackend, resolveThreads } from "../kernels/index.js";
import { buildModel } from "../nn/build.js";
import { conv2d, mean, softmaxCrossEntropy, square } from "../ops/index.js";
import { Context } from "../tensor/context.js";
import { adam } from "../train/optimizers.js";
import { Random } from "../util/random.js";
import { type BenchOptions, environment, formatEnvironment, median, table } from "./util.js";

/** A job set up on one backend: `run` does the work, `output` reads the result bytes. */
interface Job {
  run(): void;
  output(): Uint8Array;
}

interface Case {
  name: string;
  /** Work per run, for the rate column (flop, bit-MAC or images). */
  work: number;
  unit: string;
  setup(b: Backend): Job;
}

function fillRandom(b: Backend, ptr: number, n: number, rng: Random, words = false): void {
  if (words) {
    const v = b.heap.u32At(ptr, n);
    for (let i = 0; i < n; i++) v[i] = rng.int(0x10000) * 0x10000 + rng.int(0x10000);
  } else {
    const v = b.heap.f32At(ptr, n);
    for (let i = 0; i < n; i++) v[i] = rng.uniform(-1, 1);
  }
}

function sgemmCase(m: number, n: number, k: number, what: string): Case {
  return {
    name: `sgemm ${m}x${n}x${k} (${what})`,
    work: 2 * m * n * k,
    unit: "GFLOP/s",
    setup(b) {
      const rng = new Random(1);
      const [x, y, c] = [m * k, k * n, m * n].map((len) => b.heap.alloc(len * 4));
      fillRandom(b, x!, m * k, rng);
      fillRandom(b, y!, k * n, rng);
      return {
        run: () => b.float.sgemm(false, true, m, n, k, 1, x!, k, y!, k, 0, c!, n),
        output: () => b.heap.u8().slice(c!, c! + m * n * 4),
      };
    },
  };
}

function bgemmCase(m: number, n: number, bits: number, what: string): Case {
  const words = bits / 32;
  return {
    name: `bgemm ${m}x${n}x${bits} (${what})`,
    work: m * n * bits,
    unit: "GMAC/s",
    setup(b) {
      const rng = new Random(2);
      const [x, y, c] = [m * words, n * words, m * n].map((len) => b.heap.alloc(len * 4));
      fillRandom(b, x!, m * words, rng, true);
      fillRandom(b, y!, n * words, rng, true);
      return {
        run: () => b.binary.bgemm(m, n, words, bits, x!, y!, c!),
        output: () => b.heap.u8().slice(c!, c! + m * n * 4),
      };
    },
  };
}

const bconvCase: Case = {
  name: "binary conv 3x3 28x28x128->128, pad 0, batch 16",
  work: 16 * 28 * 28 * 128 * 9 * 128,
  unit: "GMAC/s",
  setup(b) {
    const g = convGeometry(16, 28, 28, 128, 3, 3, 1, 1, "same");
    const rng = new Random(3);
    const x = b.heap.alloc(16 * 28 * 28 * 4 * 4);
    const w = b.heap.alloc(128 * 9 * 4 * 4);
    const cols = b.heap.alloc(16 * 28 * 28 * 9 * 4 * 4);
    const out = b.heap.alloc(16 * 28 * 28 * 128 * 4);
    fillRandom(b, x, 16 * 28 * 28 * 4, rng, true);
    fillRandom(b, w, 128 * 9 * 4, rng, true);
    return {
      run: () => b.binary.conv2d(g, 0, 128, x, w, cols, out),
      output: () => b.heap.u8().slice(out, out + 16 * 28 * 28 * 128 * 4),
    };
  },
};

const convTrainCase: Case = {
  name: "float conv 3x3 28x28x32->64 fwd+dW+dx, batch 64",
  work: 3 * 2 * 64 * 28 * 28 * 64 * 9 * 32,
  unit: "GFLOP/s",
  setup(b) {
    const ctx = new Context(b);
    const rng = new Random(4);
    const x = ctx.keep(ctx.parameter(ctx.randn([64, 28, 28, 32], rng, 1)));
    const w = ctx.keep(ctx.parameter(ctx.randn([64, 3, 3, 32], rng, 0.1)));
    return {
      run: () =>
        ctx.tidy(() => {
          x.zeroGrad();
          w.zeroGrad();
          mean(square(conv2d(x, w, { padding: "same" }))).backward();
        }),
      output: () => new Uint8Array(w.grad!.toArray().buffer),
    };
  },
};

function trainCase(builder: "bnn-mlp" | "bnn-cnn", batch: number): Case {
  const options = builder === "bnn-mlp" ? { width: 1024 } : {};
  return {
    name: `training step ${builder}${builder === "bnn-mlp" ? " 3x1024" : ""}, batch ${batch}`,
    work: batch,
    unit: "images/s",
    setup(b) {
      const ctx = new Context(b);
      const model = buildModel(ctx, { builder, options }, new Random(5));
      const opt = adam(ctx, model.params());
      const data = new Random(6);
      const x = new Float32Array(batch * 784).map(() => data.uniform(0, 1));
      const labels = Int32Array.from({ length: batch }, () => data.int(10));
      return {
        run: () =>
          ctx.tidy(() => {
            const logits = model.forward(ctx.fromArray(x, [batch, 28, 28, 1]), {
              training: true,
              rng: new Random(7),
            });
            const loss = softmaxCrossEntropy(logits, labels);
            for (const p of model.params()) p.tensor.zeroGrad();
            loss.backward();
            ctx.noGrad(() => opt.step(1e-3));
          }),
        output: () => new Uint8Array(model.params()[0]!.tensor.toArray().buffer),
      };
    },
  };
}

const CASES: Case[] = [
  sgemmCase(1024, 1024, 1024, "square"),
  sgemmCase(12544, 64, 576, "conv 28x28x64->64, batch 16"),
  bgemmCase(4096, 256, 4608, "conv, K = 3x3x512"),
  bgemmCase(64, 4096, 4096, "dense 4096, batch 64"),
  bconvCase,
  convTrainCase,
  trainCase("bnn-mlp", 100),
  trainCase("bnn-cnn", 64),
];

/** One timed run: repeat until minMs; wall and process CPU milliseconds per call. */
function timeOnce(fn: () => void, minMs: number): { wall: number; cpu: number } {
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  do {
    fn();
    calls++;
    t = performance.now();
  } while (t - t0 < minMs);
  const cpu = process.cpuUsage(cpu0);
  return { wall: (t - t0) / calls, cpu: (cpu.user + cpu.system) / 1000 / calls };
}

function identical(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(options.runs ?? 7, 1);
  const threads = await resolveThreads(options.threads);
  const one = await createBackend("wasm", { threads: 1 });
  const many = await createBackend("wasm", { threads });
  const loadBefore = os.loadavg()[0]!;
  const results = [];
  for (const c of CASES) {
    const [j1, jn] = [c.setup(one), c.setup(many)];
    // Compared after exactly one run each (training steps change their state).
    j1.run();
    jn.run();
    const same = identical(j1.output(), jn.output());
    const t1: { wall: number; cpu: number }[] = [];
    const tn: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < runs; r++) {
      t1.push(timeOnce(() => j1.run(), 100));
      tn.push(timeOnce(() => jn.run(), 100));
    }
    const [m1, mn] = [median(t1.map((t) => t.wall)), median(tn.map((t) => t.wall))];
    const [c1, cn] = [median(t1.map((t) => t.cpu)), median(tn.map((t) => t.cpu))];
    const rate = (ms: number) => (c.unit === "images/s" ? (c.work * 1000) / ms : c.work / ms / 1e6);
    results.push({
      case: c.name,
      unit: c.unit,
      ms_1_thread: m1,
      ms_n_threads: mn,
      rate_1_thread: rate(m1),
      rate_n_threads: rate(mn),
      speedup: m1 / mn,
      cpu_ms_1_thread: c1,
      cpu_ms_n_threads: cn,
      /** CPU time over wall time on N threads: how many cores the process really got. */
      cores_used: cn / mn,
      identical: same,
    });
  }
  const env = {
    ...environment(),
    loadavg1_before: Number(loadBefore.toFixed(2)),
    backend: many.name,
    threads: many.threads ?? 1,
    runs,
  };
  await many.close?.();
  if (options.json) {
    console.log(JSON.stringify({ results, environment: env }));
    return;
  }
  console.log(formatEnvironment(env));
  console.log();
  console.log(
    table(
      [
        "case",
        "1 thread ms",
        `${env.threads} threads ms`,
        "unit",
        "1 thread",
        `${env.threads} threads`,
        "speedup",
        "cpu ms 1",
        `cpu ms ${env.threads}`,
        "cores used",
        "identical",
      ],
      results.map((r) => [
        r.case,
        r.ms_1_thread,
        r.ms_n_threads,
        r.unit,
        r.rate_1_thread,
        r.rate_n_threads,
        r.speedup,
        r.cpu_ms_1_thread,
        r.cpu_ms_n_threads,
        r.cores_used,
        r.identical ? "yes" : "NO",
      ]),
    ),
  );
}
