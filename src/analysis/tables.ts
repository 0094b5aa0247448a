/**
 * Plain-text tables of a model summary and a sensitivity report (what the commands print),
 * as rows of cells so the HTML report can reuse them.
 */

import type { SensitivityReport } from "./sensitivity.js";
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

/** binarize-one: one row per layer, accuracy (drop) per bit width; keep-one: accuracy (gain). */
export function sensitivityTables(r: SensitivityReport): { title: string; table: Table }[] {
  const out: { title: string; table: Table }[] = [];
  const b = r.binarizeOne;
  if (b) {
    const layers = [...new Set(b.results.map((v) => v.layer))];
    const rows = layers.map((name) => [
      name,
      ...r.bits.map((bits) => {
        const v = b.results.find((x) => x.layer === name && x.bits === bits);
        return v ? `${pct(v.accuracy)} (${signed(-v.delta)})` : "-";
      }),
    ]);
    out.push({
      title: `binarize-one: test accuracy % (change, points) with only that layer at k bits; reference ${pct(b.reference.accuracy)}%`,
      table: { head: ["layer", ...r.bits.map((k) => `${k} bit${k > 1 ? "s" : ""}`)], rows },
    });
  }
  const k = r.keepOne;
  if (k) {
    const src = k.reference.source === "derived" ? " (derived: every layer binarized and fine-tuned)" : "";
    out.push({
      title: `keep-one: test accuracy % (gain, points) with only that layer at full precision; binary reference ${pct(k.reference.accuracy)}%${src}`,
      table: {
        head: ["layer", "accuracy", "gain"],
        rows: k.results.map((v) => [v.layer, pct(v.accuracy), signed(v.delta)]),
      },
    });
  }
  return out;
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
