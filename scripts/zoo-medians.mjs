#!/usr/bin/env node
/**
 * Medians over several `onebit bench zoo --json` runs (one file each): per model and thread
 * count, the engine's ms per image, its speedups over onnxruntime (same thread count) and
 * tfjs-wasm, the 2-thread speedup over 1 thread, and, for runs made with --browser,
 * Chromium's speed over Node's. One run on a shared machine is noise; the medians of a few
 * are what the README and the closing notes quote.
 *
 *     for i in 1 2 3; do onebit bench zoo --json > zoo-$i.json; done
 *     node scripts/zoo-medians.mjs zoo-*.json
 */
import { readFileSync } from "node:fs";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/zoo-medians.mjs RUN.json [RUN.json ...]");
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, "utf8")));

const median = (values) => {
  const v = values.filter((x) => typeof x === "number").sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};
const fmt = (x, digits = 2) => (x === undefined ? "-" : x.toFixed(digits));
const range = (values) => {
  const v = values.filter((x) => typeof x === "number");
  return v.length ? `${fmt(Math.min(...v))}-${fmt(Math.max(...v))}` : "-";
};

const backends = [...new Set(runs.map((r) => r.backend))].join(", ");
console.log(`${runs.length} runs of bench zoo (${backends}); medians, [min-max] where it helps\n`);
const header = ["model", "thr", "ms/img", "[range]", "x ort", "x tfjs", "x 1 thr", "Chromium x Node"];
const rows = [header];
for (const first of runs[0].models) {
  const mine = runs.map((r) => r.models.find((m) => m.id === first.id)).filter(Boolean);
  const threads = first.runs.map((r) => r.threads);
  for (const t of threads) {
    const at = mine.map((m) => m.runs.find((r) => r.threads === t));
    const ms = at.map((r) => r?.ms);
    const perRunOne = mine.map((m) => m.runs.find((r) => r.threads === 1)?.ms);
    const speedup = t === 1 ? [] : perRunOne.map((one, i) => (one && ms[i] ? one / ms[i] : undefined));
    const chromium = mine.map((m) => m.chromium?.runs?.find((r) => r.threads === t)?.chromium_vs_node);
    rows.push([
      t === threads[0] ? first.label : "",
      String(t),
      fmt(median(ms)),
      range(ms),
      fmt(median(at.map((r) => r?.speedup_vs_ort)), 3),
      fmt(median(at.map((r) => r?.speedup_vs_tfjs)), 3),
      t === 1 ? "-" : `${fmt(median(speedup), 3)} [${range(speedup)}]`,
      chromium.some((x) => x !== undefined) ? `${fmt(median(chromium), 3)} [${range(chromium)}]` : "-",
    ]);
  }
}
const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((c, j) => c.padStart(widths[j])).join("  "));
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
