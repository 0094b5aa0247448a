/**
 * Plain-text tables of a model summary and a sensitivity report (what the commands print),
 * as rows of cells so the HTML report can reuse them.
 */

import type { AccuracyStats, ModeResult, SensitivityReport, VariantResult } from "./sensitivity.js";
import type { ModelSummary } from "./summary.js";

export interface Table {
  head: string[];
  rows: string[][];
}

const kb = (b: number | null) => (b === null ? "-" : (b / 1024).toFixed(2));
const count = (n: number) => n.toLocaleString("en-US");
const bitsCell = (b: number | null) => (b === null ? "-" : String(b));
const pct = (x: number) => (100 * x).toFixed(2);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`;

/** The per-layer table of a summary, then a totals row. */
export function summaryTable(s: ModelSummary): Table {
  const head = [
    "layer",
    "type",
    "output shape",
    "params",
    "w bits",
    "in bits",
    "float32 kB",
    "deployed kB",
    "binary MACs",
    "float MACs",
  ];
  const rows = s.layers.map((l) => [
    l.name,
    l.type,
    `[${l.outputShape.join(", ")}]`,
    count(l.params),
    bitsCell(l.weightBits),
    bitsCell(l.inputBits),
    kb(l.float32Bytes),
    l.note?.startsWith("folded")
      ? "0 (folded)"
      : `${l.note?.includes("estimated") ? "~" : ""}${kb(l.deployedBytes)}`,
    count(l.macs.binary),
    count(l.macs.float),
  ]);
  const t = s.totals;
  rows.push([
    "total",
    "",
    "",
    count(t.params),
    "",
    "",
    kb(t.float32Bytes),
    kb(t.deployedBytes),
    count(t.macs.binary),
    count(t.macs.float),
  ]);
  return { head, rows };
}

/** The lines under the summary table: file size, float-32 equivalent, compression. */
export function summaryFooter(s: ModelSummary): string[] {
  const t = s.totals;
  const lines = [
    `parameters: ${count(t.params)} (${count(t.binaryParams)} binary); float-32 equivalent ${kb(t.float32Bytes)} kB`,
  ];
  if (t.fileBytes !== null) {
    const what = s.kind === "onebit" ? "file size" : "deployed .onebit size (as `onebit export` writes it)";
    lines.push(
      `${what}: ${count(t.fileBytes)} bytes (${kb(t.fileBytes)} kB), compression ${t.compression!.toFixed(1)}x`,
    );
  }
  const macs = t.macs.binary + t.macs.float;
  if (macs > 0)
    lines.push(
      `MACs per image: ${count(macs)}, ${((100 * t.macs.binary) / macs).toFixed(1)}% binary (XNOR-popcount)`,
    );
  if (t.fileBytes === null) {
    lines.push(
      `deployed size (estimated: 1-bit weights packed, the rest float32): ${kb(t.deployedBytes)} kB, compression ${t.compression!.toFixed(1)}x`,
    );
  }
  if (s.activations) {
    const a = s.activations;
    lines.push(
      `activation memory per image: peak ${kb(a.peakBytes)} kB with buffers reused by liveness (largest activation ${kb(a.largestBytes)} kB; one buffer per layer ${kb(a.totalBytes)} kB)`,
    );
  }
  if (s.note) lines.push(s.note);
  return lines;
}

const half = (i: [number, number] | null) => (i ? (100 * (i[1] - i[0])) / 2 : null);
const pm = (i: [number, number] | null) => (i ? ` ±${half(i)!.toFixed(2)}` : "");
const mark = (v: VariantResult) => (v.beyondNoise ? "*" : "");

/** "98.90% ±0.05 (3 seeds)": a reference's mean accuracy and its interval's half width. */
export function referenceText(ref: AccuracyStats, seeds: number): string {
  return `${pct(ref.accuracy)}%${pm(ref.interval)}${seeds > 1 ? ` (mean of ${seeds} seeds, 95% interval)` : ""}`;
}

/**
 * binarize-one: one row per layer, accuracy (change) per bit width; keep-one: accuracy and
 * gain. With several seeds: means, "±" the 95% interval's half width, and "*" where the
 * change's interval excludes 0.
 */
export function sensitivityTables(r: SensitivityReport): { title: string; table: Table }[] {
  const out: { title: string; table: Table }[] = [];
  const n = r.seeds.length;
  const b = r.binarizeOne;
  if (b) {
    const layers = [...new Set(b.results.map((v) => v.layer))];
    const rows = layers.map((name) => [
      name,
      ...r.bits.map((bits) => {
        const v = b.results.find((x) => x.layer === name && x.bits === bits);
        if (!v) return "-";
        if (v.same) return `${pct(v.accuracy)} (already ${bits} bit${bits > 1 ? "s" : ""})`;
        return `${pct(v.accuracy)} (${signed(-v.delta)}${pm(v.deltaInterval)}${mark(v)})`;
      }),
    ]);
    out.push({
      title: `binarize-one: test accuracy % (change, points${n > 1 ? " ± 95% interval" : ""}) with only that layer at k bits; reference ${referenceText(b.reference, n)}`,
      table: { head: ["layer", ...r.bits.map((k) => `${k} bit${k > 1 ? "s" : ""}`)], rows },
    });
  }
  const k = r.keepOne;
  if (k) {
    const src = k.reference.source === "derived" ? " (derived: every layer binarized)" : "";
    const head =
      n > 1
        ? ["layer", "accuracy", "±", "gain", "gain 95% interval", "beyond noise"]
        : ["layer", "accuracy", "gain"];
    const rows = k.results.map((v) => {
      const note = v.same ? " (already full precision)" : "";
      if (n === 1) return [`${v.layer}${note}`, pct(v.accuracy), signed(v.delta)];
      const iv = v.deltaInterval;
      return [
        `${v.layer}${note}`,
        pct(v.accuracy),
        pm(v.interval).trim(),
        `${signed(v.delta)}${mark(v)}`,
        iv ? `[${signed(iv[0])}, ${signed(iv[1])}]` : "-",
        v.beyondNoise ? "yes" : "no",
      ];
    });
    out.push({
      title: `keep-one: test accuracy % (gain, points) with only that layer at full precision; binary reference ${referenceText(k.reference, n)}${src}`,
      table: { head, rows },
    });
  }
  return out;
}

/** What the method is and how to read the numbers (printed under the tables and in the report). */
export function sensitivityNotes(r: SensitivityReport): string[] {
  const lines: string[] = [];
  if (r.method === "finetune") {
    const f = r.finetune!;
    lines.push(
      `method: fine-tune (fast): every model starts from its checkpoint's weights, fine-tuned ${f.epochs} epoch(s) on ${f.images} images (Adam lr ${f.lr}, batch ${f.batchSize}).`,
      "Known bias: keeping a hidden layer at full precision can lose accuracy under fine-tuning, because its latent weights were trained for sign inputs and do not adapt to real-valued inputs in one short fine-tune. --retrain trains every model from scratch instead.",
    );
  } else {
    const s = (m: ModeResult | undefined, name: string) => {
      if (!m?.schedule) return [];
      const c = m.schedule;
      return [
        `${name} ${c.epochs} epochs, batch ${c.batchSize}, lr ${c.lr} (${c.schedule ?? "exponential"}, ${c.optimizer ?? "adam"})`,
      ];
    };
    lines.push(
      `method: retrain: every model trained from scratch on ${r.retrain!.images} images: ${[...s(r.binarizeOne, "binarize-one"), ...s(r.keepOne, "keep-one")].join("; ")}.`,
    );
  }
  lines.push(
    `batch norm re-estimated on ${r.calibrationImages} training images; tested on ${r.testImages} images.`,
  );
  if (r.seeds.length > 1) {
    lines.push(
      `seeds ${r.seeds.join(", ")}: ${r.intervals}. * = the change's interval excludes 0 (beyond noise).`,
    );
  } else {
    const ref = (r.binarizeOne ?? r.keepOne)!.reference.accuracy;
    const se = 100 * Math.sqrt((ref * (1 - ref)) / r.testImages);
    lines.push(
      `one seed: no intervals; the test set's standard error alone is ${se.toFixed(2)} points (--seeds N measures the seed-to-seed spread).`,
    );
  }
  return lines;
}

/** Renders a table with aligned columns (numbers right-aligned). */
export function formatTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const numeric = (s: string) => /^[-+0-9.,() %x]+$/.test(s) && /\d/.test(s);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(t.head), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

/** Renders a table as GitHub Markdown (for docs: scripts/sensitivity-markdown.mjs). */
export function markdownTable(t: Table): string {
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(t.head), line(t.head.map(() => "---")), ...t.rows.map(line)].join("\n");
}
