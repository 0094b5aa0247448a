/**
 * The fuzz harness shared by `npm run fuzz` (scripts/fuzz.mjs, on the built library) and the
 * short run in `npm test` (test/harden/fuzz.test.ts, on the sources): it loads the seed
 * files, feeds mutated bytes to each loader and classifies what happens.
 *
 * A case ends in one of:
 *   ok               the loader returned (and the result was usable: a .onebit model runs one
 *                    image on the engine, a checkpoint's tensors load into the model its
 *                    config builds)
 *   typed-error      the loader threw its typed error (ModelFormatError, CheckpointError,
 *                    DataError) and the message names the file
 *   crash            anything else: another error type, or a message without the file name
 *   hang             the case took longer than `caseMs` (the script's watchdog also kills a
 *                    case that never returns)
 *   unbounded-alloc  the loader's allocation grew by more than allocFactor x the file's size
 *                    (for gzip: its decompressed size) + allocSlack
 *
 * How allocation is measured: process.memoryUsage() right before the loader call and right
 * after it returns or throws (the result still alive), counting heapUsed + arrayBuffers
 * growth. A garbage collection inside the call can hide transient garbage, so this is a lower
 * bound of the peak; allocations of the size that matters (a multiple of a large file, or a
 * huge declared length) are retained typed arrays and show up.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import fc from "fast-check";
import { applyMutation, mutationArb } from "./mutate.mjs";

export const OUTCOMES = ["ok", "typed-error", "crash", "hang", "unbounded-alloc"];
export const LIMITS = { caseMs: 1000, allocFactor: 16, allocSlack: 4 * 1024 * 1024 };

const FORMATS = { onebit: "onebit", ckpt: "checkpoint", idx: "idx", bin: "cifar", onnx: "onnx" };

/**
 * The ONNX seeds: PyTorch exports of test/fixtures/onnx that import (residual graphs with
 * explicit pads, Pad and shape-computing chains, the binarization forms), the model from
 * the internet being the likeliest hostile file a user opens.
 */
export const ONNX_SEEDS = [
  "birealnet-block.onnx",
  "birealnet-twin.onnx",
  "reactnet-twin.onnx",
  "quicknet-twin.onnx",
  "where-sign.onnx",
  "react-style.onnx",
];

/** The ONNX seeds in `dir` (test/fixtures/onnx). */
export function loadOnnxSeeds(dir) {
  return ONNX_SEEDS.map((name) => ({
    name,
    format: "onnx",
    gzip: false,
    bytes: new Uint8Array(fs.readFileSync(path.join(dir, name))),
    raw: undefined,
  }));
}

/** The seed files of `dir` (test/harden/seeds), each with its format (from its extension). */
export function loadSeeds(dir) {
  return fs
    .readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const gzip = name.endsWith(".gz");
      const ext = name.replace(/\.gz$/, "").split(".").pop();
      const format = FORMATS[ext];
      if (!format) return [];
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, name)));
      return [{ name, format, gzip, bytes, raw: gzip ? new Uint8Array(zlib.gunzipSync(bytes)) : undefined }];
    });
}

/**
 * The loaders under test, from `lib` (the built library or the sources):
 * { decodeModel, ModelFormatError, Engine, decodeCheckpoint, CheckpointError,
 *   checkCheckpointModel, buildModel, loadIntoModel, Random, ctx, readIdx, parseCifar10,
 *   DataError, importOnnx, OnnxError }.
 * IDX files go through the file system (readIdx reads and gunzips), into `tmpDir`.
 */
export function makeTargets(lib, tmpDir) {
  // A loader without its typed error class cannot pass: every error counts as a crash.
  const typed = (cls) => (typeof cls === "function" ? cls : class NoTypedErrorClass {});
  return {
    onebit: {
      error: typed(lib.ModelFormatError),
      load: (bytes, file) => lib.decodeModel(bytes, file),
      async use(model) {
        const engine = await lib.Engine.load(model, { backend: "ref", maxBatch: 1 });
        try {
          const scores = engine.predict(new Float32Array(engine.imageSize)).scores;
          if (scores.length !== model.classNames.length) throw new Error("engine: wrong number of scores");
        } finally {
          engine.dispose();
        }
      },
    },
    checkpoint: {
      error: typed(lib.CheckpointError),
      load: (bytes, file) => lib.decodeCheckpoint(bytes, file),
      // As readCheckpoint then loadTrainedModel: the config must fit the tensors, then load.
      async use(ck, file) {
        await lib.checkCheckpointModel(ck, file);
        const model = lib.buildModel(lib.ctx, ck.spec, new lib.Random(0));
        try {
          lib.loadIntoModel(model, ck, file);
        } finally {
          model.dispose();
        }
      },
    },
    idx: {
      error: typed(lib.DataError),
      load(bytes, file) {
        const at = path.join(tmpDir, path.basename(file));
        fs.writeFileSync(at, bytes);
        return lib.readIdx(at);
      },
      fileName: (file) => path.join(tmpDir, path.basename(file)),
    },
    cifar: {
      error: typed(lib.DataError),
      load: (bytes, file) => lib.parseCifar10([{ file, bytes }], "cifar10/test"),
    },
    // onebit import: the model it converts must also load and run in the engine. The
    // converter works on float64 copies of the tensors and leaves garbage that the heap
    // measure (no forced GC) counts, a few MiB for these seeds: its slack is 16 MiB; what
    // grows with a hostile file (folded constants) is bounded by the importer's own budget.
    onnx: {
      error: typed(lib.OnnxError),
      allocSlack: 16 * 1024 * 1024,
      load: (bytes, file) => lib.importOnnx(bytes, { file }).model,
      async use(model) {
        const engine = await lib.Engine.load(model, { backend: "ref", maxBatch: 1 });
        try {
          const scores = engine.predict(new Float32Array(engine.imageSize)).scores;
          if (scores.length !== model.classNames.length) throw new Error("engine: wrong number of scores");
        } finally {
          engine.dispose();
        }
      },
    },
  };
}

/** The size allocations are bounded by: the file's, or its decompressed size for gzip. */
function baseSize(seed, bytes) {
  if (!seed.gzip) return bytes.length;
  try {
    return Math.max(bytes.length, zlib.gunzipSync(bytes, { maxOutputLength: 1 << 28 }).length);
  } catch {
    return bytes.length;
  }
}

const heapNow = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Runs one case: `bytes` (a mutation of `seed`) through its loader. Returns
 * { outcome, ms, alloc, detail }.
 */
export async function runCase(targets, seed, bytes, limits = LIMITS) {
  const target = targets[seed.format];
  const file = `fuzz/${seed.name}`;
  const named = target.fileName?.(file) ?? file;
  const base = baseSize(seed, bytes);
  const t0 = performance.now();
  const m0 = heapNow();
  let outcome;
  let detail = "";
  let result;
  let threw;
  try {
    result = target.load(bytes, file);
  } catch (e) {
    threw = e;
  }
  const alloc = heapNow() - m0;
  if (threw !== undefined) {
    const typed = threw instanceof target.error;
    const message = String(threw?.message ?? threw);
    outcome = typed && message.includes(named) ? "typed-error" : "crash";
    detail = `${threw?.constructor?.name ?? typeof threw}: ${message.slice(0, 300)}`;
  } else {
    try {
      await target.use?.(result, file);
      outcome = "ok";
    } catch (e) {
      // A check after decoding (the checkpoint's model must fit its tensors) may still
      // reject the file with the typed error.
      const message = String(e?.message ?? e);
      outcome = e instanceof target.error && message.includes(named) ? "typed-error" : "crash";
      detail = `loaded, then: ${e?.constructor?.name}: ${message.slice(0, 300)}`;
    }
  }
  result = undefined;
  const ms = performance.now() - t0;
  if (alloc > limits.allocFactor * base + (target.allocSlack ?? limits.allocSlack)) {
    outcome = "unbounded-alloc";
    detail = `allocated ${alloc} bytes for a ${base}-byte file; ${detail}`;
  } else if (ms > limits.caseMs && outcome !== "crash") {
    outcome = "hang";
    detail = `took ${ms.toFixed(0)} ms; ${detail}`;
  }
  return { outcome, ms, alloc, detail };
}

/** Tallies outcomes; keeps the slowest case and the first examples of each failure kind. */
export class Tally {
  constructor() {
    this.counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
    this.slowest = { ms: 0, where: "" };
    this.examples = [];
  }

  add(r, where) {
    this.counts[r.outcome]++;
    if (r.ms > this.slowest.ms) this.slowest = { ms: r.ms, where };
    if (r.outcome !== "ok" && r.outcome !== "typed-error" && this.examples.length < 20) {
      this.examples.push({ where, outcome: r.outcome, detail: r.detail });
    }
  }

  merge(other) {
    for (const o of OUTCOMES) this.counts[o] += other.counts[o];
    if (other.slowest.ms > this.slowest.ms) this.slowest = other.slowest;
    this.examples.push(...other.examples.slice(0, Math.max(0, 20 - this.examples.length)));
  }

  get total() {
    return OUTCOMES.reduce((n, o) => n + this.counts[o], 0);
  }

  get failures() {
    return this.counts.crash + this.counts.hang + this.counts["unbounded-alloc"];
  }
}

/** Every truncation of a seed (lengths 0 .. size-1, every `stride`-th). */
export function* truncations(seed, stride = 1) {
  for (let at = 0; at < seed.bytes.length; at += stride) yield { at, bytes: seed.bytes.subarray(0, at) };
}

const CHUNK = 200;

/**
 * The k-th mutation plan of seed number `s` under fuzz seed `base`: plans are drawn by
 * fast-check in chunks of 200 with the chunk's own seed, so any case can be replayed alone.
 */
export function planAt(seeds, s, k, base, cache = new Map()) {
  const index = Math.floor(k / CHUNK);
  let chunk = cache.get(s);
  if (chunk?.index !== index) {
    const plans = fc.sample(mutationArb(seeds[s]), { numRuns: CHUNK, seed: base + s * 1_000_003 + index });
    chunk = { index, plans };
    cache.set(s, chunk);
  }
  return chunk.plans[k % CHUNK];
}

/** Case i of a run: seed i mod #seeds, its (i div #seeds)-th plan. */
export function caseAt(seeds, i, base, cache) {
  const s = i % seeds.length;
  const seed = seeds[s];
  const plan = planAt(seeds, s, Math.floor(i / seeds.length), base, cache);
  return { seed, plan, bytes: applyMutation(seed, plan) };
}

export { applyMutation, mutationArb };
