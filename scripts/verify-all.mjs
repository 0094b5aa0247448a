#!/usr/bin/env node
/**
 * The deploy issue's "Done when" check: trains each model for one epoch with the project's
 * own CLI (accuracy is not the point), exports it to .onebit, and runs
 * `onebit run --verify` on the full MNIST test set (10,000 images): predicted classes
 * identical, class scores within 1e-5 relative, every binary layer's integer
 * pre-activations identical. Default first/last layers everywhere (bnn-mlp's first layer: bwn); bnn-mlp also with
 * `--first float` and `--first binary` for the file size against float32 weights, and
 * bnn-cnn with `--first bwn`. `--only PREFIX` runs the rows whose name starts with PREFIX.
 * Prints a summary table; exits 1 if any verification fails.
 *
 *     npm run build && node scripts/verify-all.mjs [--epochs 1] [--limit-train 10000] [--only bnn-mlp]
 *
 * ONEBIT_CLI overrides the CLI entry (default dist/cli/main.js).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = process.env.ONEBIT_CLI ?? path.join(root, "dist/cli/main.js");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const epochs = flag("--epochs", "1");
const limitTrain = flag("--limit-train", "10000");
const only = flag("--only", "");
const outRoot = path.resolve(root, flag("--out-dir", "runs/verify-all"));

/** Row name, builder and extra train options (the first six are the required checks). */
const MODELS = [
  { name: "bnn-mlp", model: "bnn-mlp", extra: [] },
  { name: "bnn-cnn", model: "bnn-cnn", extra: [] },
  { name: "xnor-cnn (xnor-weights)", model: "xnor-cnn", extra: ["--scaling", "xnor-weights"] },
  { name: "bnn-cnn same, pad -1", model: "bnn-cnn", extra: ["--padding", "same", "--pad-value", "-1"] },
  { name: "bnn-cnn same, pad 0", model: "bnn-cnn", extra: ["--padding", "same", "--pad-value", "0"] },
  { name: "bnn-cnn same, pad +1", model: "bnn-cnn", extra: ["--padding", "same", "--pad-value", "1"] },
  { name: "bnn-mlp --first float", model: "bnn-mlp", extra: ["--first", "float"] },
  { name: "bnn-mlp --first binary", model: "bnn-mlp", extra: ["--first", "binary"] },
  { name: "bnn-cnn --first bwn", model: "bnn-cnn", extra: ["--first", "bwn"] },
];

/** Runs the CLI with --json and returns the last JSON line of its stdout. */
function onebit(argv) {
  process.stderr.write(`$ onebit ${argv.join(" ")}\n`);
  const r = spawnSync(process.execPath, [cli, ...argv, "--json"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = (r.stdout ?? "").trim().split("\n");
  const last = lines[lines.length - 1];
  if (!last?.startsWith("{")) throw new Error(`onebit ${argv[0]} failed (exit ${r.status}): ${r.stdout}`);
  return { json: JSON.parse(last), status: r.status };
}

if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
const rows = [];
for (const m of MODELS) {
  if (only && !m.name.startsWith(only)) continue;
  const slug = m.name.replace(/[^\w-]+/g, "_");
  const dir = path.join(outRoot, slug);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const trained = onebit([
    "train",
    "--model",
    m.model,
    "--dataset",
    "mnist",
    "--epochs",
    epochs,
    "--limit-train",
    limitTrain,
    "--threads",
    "1",
    "--out",
    dir,
    ...m.extra,
  ]).json;
  const ckpt = path.join(dir, "last.ckpt");
  const file = path.join(dir, "model.onebit");
  const exported = onebit(["export", ckpt, "--out", file]).json;
  const { json: run, status } = onebit(["run", file, "--verify", ckpt]);
  const v = run.verify;
  const pre = v.preActivations.reduce((a, p) => ({ bad: a.bad + p.count, n: a.n + p.checked }), {
    bad: 0,
    n: 0,
  });
  rows.push({
    model: m.name,
    layers: exported.layers.join(">"),
    train_acc: trained.test_accuracy,
    engine_acc: run.test_accuracy,
    images: v.images,
    class_mismatches: v.classes.count,
    score_mismatches: v.scores.count,
    max_rel_err: v.scores.maxRelativeError,
    binary_layers: v.preActivations.length,
    pre_mismatches: pre.bad,
    pre_checked: pre.n,
    ok: v.ok && status === 0,
    file_bytes: run.file_bytes,
    float32_bytes: run.float32_weight_bytes,
    img_s_b64: run.images_per_s_batch64,
    img_s_b1: run.images_per_s_batch1,
    seconds: (Date.now() - started) / 1000,
  });
}

const header = [
  "model",
  "train acc",
  "engine acc",
  "images",
  "class diff",
  "score diff",
  "max rel err",
  "int pre-act diff",
  "verify",
  "file bytes",
  "float32 bytes",
  "smaller",
  "img/s b64",
  "img/s b1",
];
const table = rows.map((r) => [
  r.model,
  `${(100 * r.train_acc).toFixed(2)}%`,
  `${(100 * r.engine_acc).toFixed(2)}%`,
  String(r.images),
  String(r.class_mismatches),
  String(r.score_mismatches),
  r.max_rel_err.toExponential(1),
  `${r.pre_mismatches}/${r.pre_checked} (${r.binary_layers} layers)`,
  r.ok ? "OK" : "FAIL",
  String(r.file_bytes),
  String(r.float32_bytes),
  `${(r.float32_bytes / r.file_bytes).toFixed(1)}x`,
  r.img_s_b64.toFixed(0),
  r.img_s_b1.toFixed(0),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(`epochs ${epochs}, --limit-train ${limitTrain}, training on 1 thread; engine on 1 thread`);
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const t of table) console.log(line(t));
for (const r of rows) console.log(`${r.model}: ${r.layers}`);
if (rows.some((r) => !r.ok)) process.exitCode = 1;
