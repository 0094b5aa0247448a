/**
 * The files of a sensitivity run in OUT: sensitivity.json, heatmap.svg/.png, bars.svg/.png
 * and report.html, a self-contained page (pictures inline as SVG, no external resources)
 * with the model summary and the tables.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { barSpec, heatmapSpec, renderSvg, svgToPng } from "./charts.js";
import type { SensitivityReport } from "./sensitivity.js";
import type { ModelSummary } from "./summary.js";
import { sensitivityNotes, sensitivityTables, summaryFooter, summaryTable, type Table } from "./tables.js";

export interface ReportFiles {
  json: string;
  html: string;
  pictures: string[];
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function htmlTable(t: Table): string {
  const head = `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n${head}\n${rows}\n</table>`;
}

/** The HTML page. */
export function reportHtml(r: SensitivityReport, summaries: ModelSummary[], svgs: string[]): string {
  const sections = [
    `<h1>Per-layer sensitivity: ${esc(summaries[0]?.model ?? "")} on ${esc(r.dataset)}</h1>`,
    `<p>${r.variants} models, ${r.trainings} trainings (${r.reused} reused) in ${r.seconds.toFixed(0)} s.</p>`,
    `<div class="notes">${sensitivityNotes(r)
      .map((l) => `<p>${esc(l)}</p>`)
      .join("\n")}</div>`,
    ...svgs.map((s) => `<figure>${s}</figure>`),
    ...sensitivityTables(r).map((t) => `<h2>${esc(t.title)}</h2>\n${htmlTable(t.table)}`),
    ...summaries.map(
      (s) =>
        `<h2>Model summary: ${esc(s.source)}</h2>\n${htmlTable(summaryTable(s))}\n<p>${summaryFooter(s).map(esc).join("<br>")}</p>`,
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onebit sensitivity: ${esc(r.dataset)}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; }
.notes { background: #f6f6f0; border-left: 4px solid #c9a227; padding: 0.2em 1em; }
</style></head><body>
${sections.join("\n")}
</body></html>
`;
}

/** Writes every output of a run to `dir`; returns the paths. */
export async function writeReport(
  dir: string,
  r: SensitivityReport,
  summaries: ModelSummary[],
): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const pictures: string[] = [];
  const svgs: string[] = [];
  for (const [name, spec] of [
    ["heatmap", heatmapSpec(r)],
    ["bars", barSpec(r)],
  ] as const) {
    if (!spec) continue;
    const svg = await renderSvg(spec);
    svgs.push(svg);
    const base = path.join(dir, name);
    await writeFile(`${base}.svg`, svg);
    await writeFile(`${base}.png`, svgToPng(svg));
    pictures.push(`${base}.svg`, `${base}.png`);
  }
  const json = path.join(dir, "sensitivity.json");
  await writeFileAtomic(json, `${JSON.stringify({ ...r, summaries }, null, 2)}\n`);
  const html = path.join(dir, "report.html");
  await writeFileAtomic(html, reportHtml(r, summaries, svgs));
  return { json, html, pictures };
}
