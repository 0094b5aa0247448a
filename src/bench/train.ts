/**
 * `onebit bench train`: seconds per training epoch on MNIST, onebit beside PyTorch on two
 * threads, in one run. The models (`--model`, comma-separated; default `mlp,cnn`):
 * - mlp: `bnn-mlp` 784 -> 3 x 1024 -> 10, first layer binary weights on the real image,
 *   last layer binary, batch 100;
 * - cnn: `bnn-cnn`, the Larq tutorial's conv32 - conv64 - conv64 - dense64 - dense10, same
 *   first/last setup, batch 64;
 * - birealnet, reactnet, quicknet: the residual builders (src/nn/residualBuilders.ts) at
 *   `--width` (default 32) and `--stages` (default 2,2,2), batch 64.
 * mlp and cnn time onebit on one thread and on --threads N (default: all cores); the residual
 * models time it on --threads N (default 2, the peer's), so that the ratio compares two
 * threads with two threads. Each trains one epoch with Adam 1e-3 through the real trainer;
 * the figure is the training pass only (the trainer's evaluation is excluded), as the peer's
 * `train_s`.
 *
 * The peers are the scripts in bench/peers of this package: train_bnn.py for mlp and cnn,
 * train_residual.py for the residual models (`--peer PATH` or the ONEBIT_PEER environment
 * variable runs PATH for every model instead; `--peer none` skips them), run with
 * /usr/bin/python3 (or ONEBIT_PYTHON) on the same MNIST files and the same model config. A
 * peer prints one JSON line per epoch; this reads `train_s`, `cpu_s`, `load1`, `torch`,
 * `params` and `binary_params` from it, and warns when the parameter counts differ from
 * onebit's (then the two are not the same network). Models run interleaved (onebit mlp,
 * PyTorch mlp, onebit cnn, PyTorch cnn) so that load on a shared machine hits both alike;
 * `--runs R` repeats that R times and reports medians. `--limit N` trains onebit on N images
 * (seconds per epoch are then extrapolated to the full 60000 and marked so); the residual
 * peers train on the same N images (an epoch of them takes minutes), the mlp and cnn peers on
 * all 60000. `--float` also times onebit with the binary layers' forward in float (the path
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
import type { ModelConfig } from "../nn/checkpointFormat.js";
import { createContext } from "../tensor/index.js";
import { train } from "../train/trainer.js";
import { type BenchOptions, environment, formatEnvironment, median, table } from "./util.js";

const FULL_EPOCH = 60000;
const PEER_THREADS = 2;

/** The models `bench train` times: the two reference BNNs and the residual builders. */
export const MODEL_NAMES = ["mlp", "cnn", "birealnet", "reactnet", "quicknet"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
const RESIDUAL: readonly ModelName[] = ["birealnet", "reactnet", "quicknet"];

export interface ModelCase {
  name: ModelName;
  config: ModelConfig;
  batchSize: number;
  /** The peer script in bench/peers that twins it. */
  peer: "train_bnn.py" | "train_residual.py";
  /** A residual model: onebit on the peer's thread count only, the peer on --limit images too. */
  residual: boolean;
}

export interface CaseOptions {
  /** Comma-separated model names; default "mlp,cnn". */
  model?: string;
  /** Residual models: channels of the first stage (default 32). */
  width?: number;
  /** Residual models: blocks per stage, comma-separated (default "2,2,2"). */
  stages?: string;
}

/** Positive integers from "2,2,2"; throws naming `what` otherwise. */
export function parseIntList(text: string, what: string): number[] {
  const parts = text.split(",").map((v) => v.trim());
  const values = parts.map(Number);
  if (parts.some((v) => !/^\d+$/.test(v)) || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new RangeError(`${what} must be comma-separated positive integers, e.g. 2,2,2, got '${text}'`);
  }
  return values;
}

/** The model cases of `--model`, `--width` and `--stages`, in the order given. */
export function modelCases(o: CaseOptions = {}): ModelCase[] {
  const names = (o.model ?? "mlp,cnn").split(",").map((v) => v.trim());
  for (const n of names) {
    if (!(MODEL_NAMES as readonly string[]).includes(n)) {
      throw new RangeError(`bench train: unknown model '${n}'; choose from ${MODEL_NAMES.join(", ")}`);
    }
  }
  if (new Set(names).size !== names.length) throw new RangeError("bench train: a model is listed twice");
  const residual = names.some((n) => RESIDUAL.includes(n as ModelName));
  if (!residual && (o.width !== undefined || o.stages !== undefined)) {
    throw new RangeError(
      "bench train: --width and --stages set the residual models (birealnet, reactnet, quicknet)",
    );
  }
  const width = o.width ?? 32;
  if (!Number.isSafeInteger(width) || width < 4 || width % 4 !== 0) {
    throw new RangeError(`bench train: --width must be a positive multiple of 4, got ${String(o.width)}`);
  }
  const stages = parseIntList(o.stages ?? "2,2,2", "--stages");
  return names.map((n): ModelCase => {
    const name = n as ModelName;
    if (name === "mlp") {
      const options = { width: 1024, first: "bwn", last: "binary" };
      return {
        name,
        config: { builder: "bnn-mlp", options },
        batchSize: 100,
        peer: "train_bnn.py",
        residual: false,
      };
    }
    if (name === "cnn") {
      const options = { first: "bwn", last: "binary" };
      return {
        name,
        config: { builder: "bnn-cnn", options },
        batchSize: 64,
        peer: "train_bnn.py",
        residual: false,
      };
    }
    const config = { builder: name, options: { width, stages } };
    return { name, config, batchSize: 64, peer: "train_residual.py", residual: true };
  });
}

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
): Promise<Timing & { params: { binary: number; float: number } }> {
  const ctx = await createContext("wasm", { threads });
  const cpu0 = process.cpuUsage();
  const result = await train({
    ctx,
    data,
    config: { model: m.config as BuilderConfig, epochs: 1, batchSize: m.batchSize, lr: 1e-3, seed: 1 },
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
    params: result.params,
  };
}

/** How to get the peer's Python side; the peer's README says more. */
const PEER_SETUP = "apt-get install -y python3-torch libopenblas0-openmp (see bench/peers/README.md)";

/** The peer script of a model: --peer, else ONEBIT_PEER, else the model's script in this package's bench/peers. */
export function peerScript(option: string | undefined, m: ModelCase): string | null {
  const chosen = option ?? process.env.ONEBIT_PEER;
  if (chosen === "none") return null;
  if (chosen) return path.resolve(chosen);
  // dist/bench/train.js and src/bench/train.ts both sit two folders below the package root.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  return path.join(root, "bench", "peers", m.peer);
}

/** Debian's python3-torch is built for the system Python, not for one a version manager puts first. */
function pythonPath(): string {
  return process.env.ONEBIT_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/**
 * The peer's arguments for one model: the same builder and options (first/last precision, or
 * width and stages) and batch as onebit's; `limit` (residual models) trains on that many images.
 */
export function peerArgs(script: string, m: ModelCase, limit?: number): string[] {
  const args = [script, "--model", m.config.builder];
  if (m.residual) {
    const { width, stages } = m.config.options as { width: number; stages: number[] };
    args.push("--width", String(width), "--stages", stages.join(","));
    if (limit !== undefined) args.push("--limit", String(limit));
  } else {
    const { first, last } = m.config.options as { first: string; last: string };
    args.push("--first", first, "--last", last);
  }
  args.push("--batch", String(m.batchSize), "--lr", "1e-3", "--data", "mnist", "--epochs", "1");
  return [...args, "--threads", String(PEER_THREADS)];
}

/** What `bench train` reads from a peer's epoch line. */
export interface PeerRecord {
  seconds: number;
  cpuSeconds: number;
  /** Images of the epoch (`--limit`, else 60000). */
  images: number;
  torch: string;
  load1: number;
  /** Trainable parameters, and the binarized latent weights among them (null if not reported). */
  params: number | null;
  binaryParams: number | null;
}

/**
 * The first epoch line in a peer's stdout (one JSON object a line, other lines ignored), or
 * null when there is none with a numeric `train_s`. `images` is what the peer trained on.
 */
export function parsePeerRecord(stdout: string, images: number): PeerRecord | null {
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof r.train_s !== "number") continue;
    const num = (v: unknown) => (typeof v === "number" ? v : null);
    return {
      seconds: r.train_s,
      cpuSeconds: num(r.cpu_s) ?? Number.NaN,
      images,
      torch: String(r.torch),
      load1: num(r.load1) ?? Number.NaN,
      params: num(r.params),
      binaryParams: num(r.binary_params),
    };
  }
  return null;
}

/** Why the peer failed, from its exit and stderr: what to install when Python or torch is missing. */
function peerFailure(script: string, code: number | null, stderr: string): string {
  if (/No module named '?(torch|numpy)/.test(stderr)) {
    return `PyTorch is not installed for ${pythonPath()}: ${PEER_SETUP}, or set ONEBIT_PYTHON`;
  }
  const last = stderr.trim().split("\n").pop();
  return `${path.basename(script)} failed: ${last || `exit code ${code}`}`;
}

/** Runs one epoch of the PyTorch reference; resolves its training seconds or rejects with why not. */
function peerEpoch(script: string, m: ModelCase, limit?: number): Promise<PeerRecord> {
  // Debian's torch uses the slow reference BLAS unless OpenBLAS is on the library path.
  const openblas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  const env: NodeJS.ProcessEnv = { ...process.env, MNIST_DIR: mnistDataDir() };
  if (existsSync(openblas)) env.LD_LIBRARY_PATH = [openblas, env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  const peerLimit = m.residual ? limit : undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), peerArgs(script, m, peerLimit), {
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
      const record = parsePeerRecord(out, Math.min(peerLimit ?? FULL_EPOCH, FULL_EPOCH));
      if (code !== 0 || !record) {
        reject(new Error(peerFailure(script, code, err)));
        return;
      }
      resolve(record);
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
  /** Trainable / binarized parameters of onebit's model and of the peer's (null: not reported). */
  params?: { onebit: number; onebitBinary: number; peer: number | null; peerBinary: number | null };
}

/** "" when the peer's parameter counts equal onebit's, else a warning naming both. */
export function paramMismatch(name: string, p: NonNullable<ModelResult["params"]>): string {
  if (p.peer === null) return "";
  if (p.peer === p.onebit && (p.peerBinary === null || p.peerBinary === p.onebitBinary)) return "";
  return (
    `${name}: PyTorch's model has ${p.peer} parameters (${p.peerBinary ?? "?"} binary), onebit's ` +
    `${p.onebit} (${p.onebitBinary} binary): not the same network, the ratio compares unlike with unlike`
  );
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(1, options.runs ?? 1);
  const models = modelCases(options);
  const hasResidual = models.some((m) => m.residual);
  // mlp and cnn: onebit on 1 thread and on --threads N (default: all cores), side by side;
  // residual models: on --threads N (default: the peer's 2) only.
  const threads = await resolveThreads(options.threads);
  const residualThreads = await resolveThreads(options.threads ?? PEER_THREADS);
  const limit = options.limit;
  const data = await loadDataset("mnist", { limitTrain: limit, limitTest: 100 });
  const scripts = new Map(models.map((m) => [m.name, peerScript(options.peer, m)]));
  const missing = [
    ...new Set([...scripts.values()].filter((p): p is string => p !== null && !existsSync(p))),
  ];
  let peerNote =
    options.peer === "none" || (options.peer === undefined && process.env.ONEBIT_PEER === "none")
      ? "skipped (--peer none)"
      : `PyTorch, ${PEER_THREADS} threads (${[...new Set(scripts.values())].join(", ")})`;
  let peerOk = !peerNote.startsWith("skipped") && missing.length === 0;
  if (missing.length)
    peerNote = `skipped: ${missing.join(", ")} not found (pass --peer PATH or set ONEBIT_PEER)`;
  const loadBefore = os.loadavg()[0]!;
  const results = new Map<string, ModelResult>(
    models.map((m) => [m.name, { onebit: [], onebitThreads: [], onebitFloat: [], peer: [], peerLoad: [] }]),
  );
  for (let r = 0; r < runs; r++) {
    for (const m of models) {
      const res = results.get(m.name)!;
      const timed = m.residual
        ? await onebitEpoch(data, m, true, residualThreads)
        : await onebitEpoch(data, m, true);
      (m.residual ? res.onebitThreads : res.onebit).push(timed);
      res.params ??= {
        onebit: timed.params.binary + timed.params.float,
        onebitBinary: timed.params.binary,
        peer: null,
        peerBinary: null,
      };
      if (!m.residual && threads > 1) res.onebitThreads.push(await onebitEpoch(data, m, true, threads));
      if (options.float)
        res.onebitFloat.push(await onebitEpoch(data, m, false, m.residual ? residualThreads : 1));
      const script = scripts.get(m.name);
      if (peerOk && script) {
        try {
          const t = await peerEpoch(script, m, limit);
          res.peer.push(t);
          res.peerLoad.push(t.load1);
          res.params.peer = t.params;
          res.params.peerBinary = t.binaryParams;
          peerNote = `PyTorch ${t.torch}, ${PEER_THREADS} threads`;
        } catch (e) {
          peerOk = false;
          peerNote = `skipped: ${(e as Error).message}`;
        }
      }
    }
  }
  const threadNote = (n: number) => (n > 1 ? `1 and ${n} threads` : "1 thread");
  const env = {
    ...environment(),
    onebit: models.every((m) => m.residual)
      ? `wasm-simd, ${residualThreads} threads`
      : `wasm-simd, ${threadNote(threads)}` +
        (hasResidual ? `; residual models ${residualThreads} threads` : ""),
    peer: peerNote,
    runs,
    trainImages: data.train.count,
    loadavg1Before: Number(loadBefore.toFixed(2)),
  };
  const summary = models.map((m) => {
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
    const paths = [];
    if (res.onebit.length) paths.push(figures("onebit, XOR-popcount forward", 1, res.onebit));
    if (res.onebitThreads.length)
      paths.push(
        figures("onebit, XOR-popcount forward", m.residual ? residualThreads : threads, res.onebitThreads),
      );
    if (res.onebitFloat.length)
      paths.push(figures("onebit, float forward", m.residual ? residualThreads : 1, res.onebitFloat));
    if (res.peer.length) paths.push(figures("PyTorch", PEER_THREADS, res.peer));
    return {
      model: m.name,
      builder: m.config.builder,
      residual: m.residual,
      options: m.config.options,
      batch: m.batchSize,
      paths,
      pytorchLoadavg1: res.peerLoad.length ? median(res.peerLoad) : null,
      pytorchImages: res.peer[0]?.images ?? null,
      params: res.params ?? null,
    };
  });
  const warnings = summary.map((s) => (s.params ? paramMismatch(s.model, s.params) : "")).filter(Boolean);
  if (options.json) {
    const extrapolated = data.train.count !== FULL_EPOCH;
    console.log(JSON.stringify({ extrapolated, environment: env, models: summary, warnings }));
    return;
  }
  console.log(formatEnvironment(env));
  const mark = data.train.count !== FULL_EPOCH ? ` (extrapolated from ${data.train.count} images)` : "";
  console.log(`\nseconds per MNIST training epoch${mark}, median of ${runs}:\n`);
  const label = (s: (typeof summary)[number]) => {
    if (!s.residual) return `${s.model} (batch ${s.batch})`;
    const o = s.options as { width: number; stages: number[] };
    return `${s.model} w${o.width} [${o.stages.join(",")}] (batch ${s.batch})`;
  };
  const rows = summary.flatMap((s) =>
    s.paths.map((p) => [
      label(s),
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
  const peerImages = summary.filter((s) => s.pytorchImages !== null && s.pytorchImages !== FULL_EPOCH);
  if (peerImages.length)
    console.log(
      `\nPyTorch extrapolated from ${peerImages[0]!.pytorchImages} images for ${peerImages.map((s) => s.model).join(", ")}`,
    );
  const counted = summary.filter((s) => s.params && s.params.peer !== null);
  if (counted.length)
    console.log(
      `parameters (trainable), onebit / PyTorch: ${counted.map((s) => `${s.model} ${s.params!.onebit} / ${s.params!.peer}`).join(", ")}`,
    );
  for (const w of warnings) console.log(`warning: ${w}`);
  console.log(
    `\nload average (1 min): ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end` +
      (summary.some((s) => s.pytorchLoadavg1 !== null)
        ? `; during PyTorch's epochs: ${summary.map((s) => `${s.model} ${s.pytorchLoadavg1 ?? "-"}`).join(", ")}`
        : ""),
  );
}
