#!/usr/bin/env node
/**
 * `npm run fuzz -- --cases 100000`: mutation fuzzing of the built library's file loaders
 * (.onebit models, checkpoints, IDX raw and gzip, CIFAR-10, ONNX import) from the valid
 * files in test/harden/seeds and the ONNX fixtures of test/fixtures/onnx (harness and
 * mutations: scripts/fuzz/). `--only onnx` fuzzes `onebit import` alone. First every truncation of every
 * seed, then `--cases` fast-check mutations, round-robin over the seeds. Prints the counts
 * of ok / typed-error / crash / hang / unbounded-alloc, the slowest case, and the first
 * failures with the seed and case number to replay them (`--from N --cases 1`). Exits 1 on
 * any crash, hang or unbounded allocation.
 *
 * The cases run in a worker thread; a watchdog in the main thread terminates it when one
 * case runs longer than --hang-ms (default 10 s), records a hang and restarts after that
 * case, so even an endless loop is counted rather than stalling the run.
 *
 *     npm run build && npm run fuzz -- --cases 100000 [--seed 1] [--no-sweep] [--only onebit|checkpoint|idx|cifar|onnx]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  caseAt,
  LIMITS,
  loadOnnxSeeds,
  loadSeeds,
  makeTargets,
  OUTCOMES,
  runCase,
  Tally,
  truncations,
} from "./fuzz/harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const seedDir = path.join(root, "test/harden/seeds");
const onnxDir = path.join(root, "test/fixtures/onnx");
/** The truncation sweep takes every offset, but every 7th of an ONNX seed (tens of KB each). */
const SWEEP_STRIDE = { onnx: 7 };

function parseArgs(argv) {
  const o = { cases: 100_000, seed: 1, sweep: true, only: undefined, from: 0, hangMs: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === "--cases") o.cases = Number(next());
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--from") o.from = Number(next());
    else if (a === "--only") o.only = next();
    else if (a === "--hang-ms") o.hangMs = Number(next());
    else if (a === "--no-sweep") o.sweep = false;
    else if (a === "--help" || a === "-h") o.help = true;
    else
      throw new Error(
        `fuzz: unknown option ${a} (--cases N, --seed S, --from N, --only FORMAT, --hang-ms MS, --no-sweep)`,
      );
  }
  return o;
}

function seedsFor(only) {
  const seeds = [...loadSeeds(seedDir), ...loadOnnxSeeds(onnxDir)].filter((s) => !only || s.format === only);
  if (seeds.length === 0) throw new Error(`fuzz: no seeds in ${seedDir}${only ? ` of format ${only}` : ""}`);
  return seeds;
}

async function libFromDist() {
  const dist = (p) => import(path.join(root, "dist", p));
  if (!fs.existsSync(path.join(root, "dist/engine/index.js"))) {
    throw new Error("fuzz: dist/ is missing: run `npm run build` first");
  }
  const [engine, ck, builders, checkpoint, tensor, random, data, interop] = await Promise.all([
    dist("engine/index.js"),
    dist("nn/checkpointFormat.js"),
    dist("nn/build.js"),
    dist("nn/checkpoint.js"),
    dist("tensor/index.js"),
    dist("util/random.js"),
    dist("data/index.js"),
    dist("interop/index.js"),
  ]);
  return {
    ...engine,
    decodeCheckpoint: ck.decodeCheckpoint,
    CheckpointError: ck.CheckpointError,
    buildModel: builders.buildModel,
    loadIntoModel: checkpoint.loadIntoModel,
    checkCheckpointModel: checkpoint.checkCheckpointModel,
    Random: random.Random,
    ctx: await tensor.createContext("ref"),
    readIdx: data.readIdx,
    parseCifar10: data.parseCifar10,
    DataError: data.DataError,
    importOnnx: interop.importOnnx,
    OnnxError: interop.OnnxError,
  };
}

/** Worker: runs phase "sweep" (truncations) or "random" cases [from, to), reporting as it goes. */
async function work({ phase, from, to, seed, only }) {
  const seeds = seedsFor(only);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-fuzz-"));
  const targets = makeTargets(await libFromDist(), tmp);
  const current = new Int32Array(workerData.current);
  let tally = new Tally();
  const flush = (done) => {
    parentPort.postMessage({ tally, done });
    tally = new Tally();
  };
  if (phase === "sweep") {
    let i = 0;
    for (const s of seeds) {
      for (const { at, bytes } of truncations(s, SWEEP_STRIDE[s.format] ?? 1)) {
        if (i >= from) {
          Atomics.store(current, 0, i);
          tally.add(await runCase(targets, s, bytes), `${s.name} truncated to ${at} bytes (sweep case ${i})`);
          if (tally.total >= 250) flush(false);
        }
        i++;
      }
    }
  } else {
    const cache = new Map();
    for (let i = from; i < to; i++) {
      const c = caseAt(seeds, i, seed, cache);
      // The watchdog times the loader, not the mutator.
      Atomics.store(current, 0, i);
      tally.add(
        await runCase(targets, c.seed, c.bytes),
        `${c.seed.name} case ${i} (seed ${seed}): ${c.plan.op}`,
      );
      if (tally.total >= 250) flush(false);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  flush(true);
}

/** Runs one phase in workers, restarting after a hung case. */
async function runPhase(phase, o, total, log) {
  const tally = new Tally();
  let from = phase === "random" ? o.from : 0;
  const to = phase === "random" ? o.from + total : Number.MAX_SAFE_INTEGER;
  while (true) {
    const current = new SharedArrayBuffer(4);
    const view = new Int32Array(current);
    Atomics.store(view, 0, -1);
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { phase, from, to, seed: o.seed, only: o.only, current },
    });
    const outcome = await new Promise((resolve) => {
      let last = -1;
      let since = Date.now();
      const timer = setInterval(() => {
        const now = Atomics.load(view, 0);
        if (now !== last) {
          last = now;
          since = Date.now();
        } else if (now >= 0 && Date.now() - since > o.hangMs) {
          clearInterval(timer);
          worker.terminate().then(() => resolve({ hung: now }));
        }
      }, 200);
      worker.on("message", (m) => {
        for (const e of m.tally.examples) console.log(`  ${e.outcome}: ${e.where}\n      ${e.detail}`);
        tally.merge(Object.assign(new Tally(), m.tally));
        log(tally);
        if (m.done) {
          clearInterval(timer);
          resolve({ done: true });
        }
      });
      worker.on("error", (e) => {
        clearInterval(timer);
        resolve({ error: e, at: Atomics.load(view, 0) });
      });
    });
    if (outcome.done) return tally;
    const at = outcome.hung ?? outcome.at;
    const kind = outcome.hung !== undefined ? "hang" : "crash";
    const where = `${phase} case ${at}: worker ${kind === "hang" ? `stuck > ${o.hangMs} ms` : "died"}`;
    const detail = String(outcome.error ?? "watchdog");
    console.log(`  ${kind}: ${where}\n      ${detail}`);
    tally.add({ outcome: kind, ms: outcome.hung !== undefined ? o.hangMs : 0, detail }, where);
    if (at < 0) throw outcome.error ?? new Error("fuzz: worker failed before its first case");
    from = at + 1;
    if (phase === "random" && from >= to) return tally;
  }
}

function report(title, t) {
  const row = OUTCOMES.map((k) => `${k} ${t.counts[k]}`).join("  ");
  console.log(`${title}: ${t.total} cases: ${row}`);
  console.log(`  slowest case ${t.slowest.ms.toFixed(1)} ms (${t.slowest.where})`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(
      "npm run fuzz -- [--cases N (100000)] [--seed S] [--from N] [--only onebit|checkpoint|idx|cifar|onnx] [--hang-ms MS] [--no-sweep]",
    );
    return;
  }
  const seeds = seedsFor(o.only);
  console.log(`onebit fuzz: node ${process.version}, ${os.cpus().length} cpus, fuzz seed ${o.seed}`);
  console.log(`seeds: ${seeds.map((s) => `${s.name} (${s.bytes.length} B)`).join(", ")}`);
  console.log(
    `limits: ${LIMITS.caseMs} ms per case, allocation <= ${LIMITS.allocFactor} x file size + ${LIMITS.allocSlack >> 20} MiB, watchdog ${o.hangMs} ms`,
  );
  let lastLog = Date.now();
  const progress = (phase) => (t) => {
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      console.log(`  ... ${phase}: ${t.total} cases, ${t.failures} failures`);
    }
  };
  const start = performance.now();
  const all = new Tally();
  if (o.sweep) {
    const sweep = await runPhase("sweep", o, 0, progress("truncation sweep"));
    report("truncation sweep (every offset of every seed)", sweep);
    all.merge(sweep);
  }
  const random = await runPhase("random", o, o.cases, progress("mutations"));
  report("mutations (fast-check)", random);
  all.merge(random);
  report("total", all);
  console.log(`  wall time ${((performance.now() - start) / 1000).toFixed(1)} s`);
  if (all.examples.length)
    console.log(`failures (first ${all.examples.length}) are listed above as they happened`);
  process.exitCode = all.failures ? 1 : 0;
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e.message ?? e);
    process.exitCode = 2;
  });
} else {
  await work(workerData);
}
