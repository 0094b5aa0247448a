/**
 * `onebit bench train`: seconds per training epoch on MNIST for the two reference BNNs,
 * onebit on one thread and on --threads N (default: all cores) beside PyTorch on two
 * threads, in one run:
 * - mlp: `bnn-mlp` 784 -> 3 x 1024 -> 10, first layer binary weights on the real image,
 *   last layer binary, batch 100;
 * - cnn: `bnn-cnn`, the Larq tutorial's conv32 - conv64 - conv64 - dense64 - dense10, same
 *   first/last setup, batch 64.
 * Both train one epoch with Adam 1e-3 through the real trainer; the figure is the training
 * pass only (the trainer's evaluation is excluded), as the peer's `train_s`.
 *
 * The peer is bench/peers/train_bnn.py in this package (or `--peer PATH`, or the ONEBIT_PEER
 * environment variable; `--peer none` skips it), run with /usr/bin/python3 (or ONEBIT_PYTHON)
 * on the same MNIST files and the same model config (builder, first, last). It prints one JSON
 * line per epoch; this reads `train_s`, `cpu_s`, `load1` and `torch` from it. Models run
 * interleaved (onebit mlp, PyTorch mlp, onebit cnn, PyTorch cnn) so that load on a shared
 * machine hits both alike; `--runs R` repeats that R times and reports medians. `--limit N`
 * trains onebit on N images (seconds per epoch are then extrapolated to the full 60000 and
 * marked so); `--float` also times onebit with the binary layers' forward in float (the path
 * before the XOR-popcount one).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type DataSplits, loadDataset, mnistDataDir } from "../data/index.js";
import { resolveThreads } from "../kernels/index.js";
import type { BuilderConfig } from "../nn/builders.js";
import { createContext } from "../tensor/index.js";
import { train } from "../train/trainer.js";
import { type BenchOptions, environment, formatEnvironment, median, table } from "./util.js";

const FULL_EPOCH = 60000;
const PEER_THREADS = 2;

export interface ModelCase {
  name: "mlp" | "cnn";
  config: BuilderConfig;
  batchSize: number;
}

export const MODELS: ModelCase[] = [
  {
    name: "mlp",
    config: { builder: "bnn-mlp", options: { width: 1024, first: "bwn", last: "binary" } },
    batchSize: 100,
  },
  { name: "cnn", config: { builder: "bnn-cnn", options: { first: "bwn", last: "binary" } }, batchSize: 64 },
];

interface Timing {
  /** Wall seconds of the training pass over the images trained on. */
  seconds: number;
  /** CPU seconds (all threads) of that pass: steadier than wall time on a loaded machine. */
  cpuSeconds: number;
  images: number;
}

/** Seconds per epoch of 60000 images (extrapolated when fewer were trained). */
const perEpoch = (t: Timing) => (t.seconds * FULL_EPOCH) / t.images;
const cpuPerEpoch = (t: Timing) => (t.cpuSeconds * FULL_EPOCH) / t.images;

async function onebitEpoch(
  data: DataSplits,
  m: ModelCase,
  xnorForward: boolean,
  threads = 1,
): Promise<Timing> {
  const ctx = await createContext("wasm", { threads });
  const cpu0 = process.cpuUsage();
  const result = await train({
    ctx,
    data,
    config: { model: m.config, epochs: 1, batchSize: m.batchSize, lr: 1e-3, seed: 1 },
    progress: "quiet",
    xnorForward,
  });
  // The CPU time spans the whole call: model setup and the evaluation of 100 test images
  // add well under 1% to an epoch.
  const cpu = process.cpuUsage(cpu0);
  result.model.dispose();
  await (ctx.backend as { close?: () => Promise<void> }).close?.();
  return {
    seconds: result.epochSeconds[0]!,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    images: data.train.count,
  };
}

/** How to get the peer's Python side; the peer's README says more. */
const PEER_SETUP = "apt-get install -y python3-torch libopenblas0-openmp (see bench/peers/README.md)";

/** The peer script: --peer, else ONEBIT_PEER, else bench/peers/train_bnn.py in this package. */
export function peerScript(option: string | undefined): string | null {
  const chosen = option ?? process.env.ONEBIT_PEER;
  if (chosen === "none") return null;
  if (chosen) return path.resolve(chosen);
  // dist/bench/train.js and src/bench/train.ts both sit two folders below the package root.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  return path.join(root, "bench", "peers", "train_bnn.py");
}

/** Debian's python3-torch is built for the system Python, not for one a version manager puts first. */
export function pythonPath(): string {
  return process.env.ONEBIT_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** The peer's arguments for one model: the same builder, first/last precision and batch as onebit's. */
export function peerArgs(script: string, m: ModelCase): string[] {
  const o = m.config.options as { first: string; last: string; width?: number; widthMultiplier?: number };
  const args = [script, "--model", m.config.builder, "--first", o.first, "--last", o.last];
  // The peer's --width is the MLP's hidden units and the CNNs' filter multiplier, as `onebit train`'s.
  const width = o.width ?? o.widthMultiplier;
  if (width !== undefined) args.push("--width", String(width));
  args.push("--batch", String(m.batchSize), "--lr", "1e-3", "--data", "mnist", "--epochs", "1");
  return [...args, "--threads", String(PEER_THREADS)];
}

/** Why the peer failed, from its exit and stderr: what to install when Python or torch is missing. */
export function peerFailure(script: string, code: number | null, stderr: string): string {
  if (/No module named '?(torch|numpy)/.test(stderr)) {
    return `PyTorch is not installed for ${pythonPath()}: ${PEER_SETUP}, or set ONEBIT_PYTHON`;
  }
  const last = stderr.trim().split("\n").pop();
  return `${path.basename(script)} failed: ${last || `exit code ${code}`}`;
}

/** Runs one epoch of the PyTorch reference; resolves its training seconds or rejects with why not. */
function peerEpoch(script: string, m: ModelCase): Promise<Timing & { torch: string; load1: number }> {
  // Debian's torch uses the slow reference BLAS unless OpenBLAS is on the library path.
  const openblas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  const env: NodeJS.ProcessEnv = { ...process.env, MNIST_DIR: mnistDataDir() };
  if (existsSync(openblas)) env.LD_LIBRARY_PATH = [openblas, env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), peerArgs(script, m), {
      env,
      cwd: path.dirname(script),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", (e) =>
      reject(new Error(`cannot start ${pythonPath()} (${e.message}): ${PEER_SETUP}, or set ONEBIT_PYTHON`)),
    );
    child.on("close", (code) => {
      const record = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => typeof r.train_s === "number");
      if (code !== 0 || !record) {
        reject(new Error(peerFailure(script, code, err)));
        return;
      }
      resolve({
        seconds: record.train_s as number,
        cpuSeconds: record.cpu_s as number,
        images: FULL_EPOCH,
        torch: String(record.torch),
        load1: record.load1 as number,
      });
    });
  });
}

interface ModelResult {
  onebit: Timing[];
  /** onebit on --threads N threads. */
  onebitThreads: Timing[];
  onebitFloat: Timing[];
  peer: Timing[];
  peerLoad: number[];
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(1, options.runs ?? 1);
  // onebit on 1 thread and on --threads N (default: all cores), side by side.
  const threads = await resolveThreads(options.threads);
  const limit = options.limit;
  const data = await loadDataset("mnist", { limitTrain: limit, limitTest: 100 });
  const script = peerScript(options.peer);
  let peerNote = script ? `PyTorch, ${PEER_THREADS} threads (${script})` : "skipped (--peer none)";
  let peerOk = script !== null && existsSync(script);
  if (script && !peerOk) peerNote = `skipped: ${script} not found (pass --peer PATH or set ONEBIT_PEER)`;
  const loadBefore = os.loadavg()[0]!;
  const results = new Map<string, ModelResult>(
    MODELS.map((m) => [m.name, { onebit: [], onebitThreads: [], onebitFloat: [], peer: [], peerLoad: [] }]),
  );
  for (let r = 0; r < runs; r++) {
    for (const m of MODELS) {
      const res = results.get(m.name)!;
      res.onebit.push(await onebitEpoch(data, m, true));
      if (threads > 1) res.onebitThreads.push(await onebitEpoch(data, m, true, threads));
      if (options.float) res.onebitFloat.push(await onebitEpoch(data, m, false));
      if (peerOk && script) {
        try {
          const t = await peerEpoch(script, m);
          res.peer.push(t);
          res.peerLoad.push(t.load1);
          peerNote = `PyTorch ${t.torch}, ${PEER_THREADS} threads`;
        } catch (e) {
          peerOk = false;
          peerNote = `skipped: ${(e as Error).message}`;
        }
      }
    }
  }
  const env = {
    ...environment(),
    onebit: threads > 1 ? `wasm-simd, 1 and ${threads} threads` : "wasm-simd, 1 thread",
    peer: peerNote,
    runs,
    trainImages: data.train.count,
    loadavg1Before: Number(loadBefore.toFixed(2)),
  };
  const summary = MODELS.map((m) => {
    const res = results.get(m.name)!;
    const peer = res.peer.length ? median(res.peer.map(perEpoch)) : null;
    const figures = (label: string, threads: number, ts: Timing[]) => {
      const seconds = median(ts.map(perEpoch));
      return {
        path: label,
        threads,
        secondsPerEpoch: seconds,
        cpuSecondsPerEpoch: median(ts.map(cpuPerEpoch)),
        samplesPerSecond: FULL_EPOCH / seconds,
        ratioToPytorch: peer === null ? null : seconds / peer,
      };
    };
    const paths = [figures("onebit, XOR-popcount forward", 1, res.onebit)];
    if (res.onebitThreads.length)
      paths.push(figures("onebit, XOR-popcount forward", threads, res.onebitThreads));
    if (res.onebitFloat.length) paths.push(figures("onebit, float forward", 1, res.onebitFloat));
    if (res.peer.length) paths.push(figures("PyTorch", PEER_THREADS, res.peer));
    return {
      model: m.name,
      builder: m.config.builder,
      batch: m.batchSize,
      paths,
      pytorchLoadavg1: res.peerLoad.length ? median(res.peerLoad) : null,
    };
  });
  if (options.json) {
    const extrapolated = data.train.count !== FULL_EPOCH;
    console.log(JSON.stringify({ extrapolated, environment: env, models: summary }));
    return;
  }
  console.log(formatEnvironment(env));
  const mark = data.train.count !== FULL_EPOCH ? ` (extrapolated from ${data.train.count} images)` : "";
  console.log(`\nseconds per MNIST training epoch${mark}, median of ${runs}:\n`);
  const rows = summary.flatMap((s) =>
    s.paths.map((p) => [
      `${s.model} (batch ${s.batch})`,
      p.path,
      String(p.threads),
      p.secondsPerEpoch,
      p.cpuSecondsPerEpoch,
      p.samplesPerSecond,
      p.ratioToPytorch ?? "-",
    ]),
  );
  const headers = ["model", "path", "threads", "s/epoch", "cpu s/epoch", "samples/s", "ratio to PyTorch"];
  console.log(table(headers, rows));
  console.log(
    `\nload average (1 min): ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end` +
      (summary.some((s) => s.pytorchLoadavg1 !== null)
        ? `; during PyTorch's epochs: ${summary.map((s) => `${s.model} ${s.pytorchLoadavg1 ?? "-"}`).join(", ")}`
        : ""),
  );
}
