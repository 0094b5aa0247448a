#!/usr/bin/env node
/**
 * Prints the tables and notes of a `onebit sensitivity --out DIR` run (DIR/sensitivity.json)
 * as Markdown, the form docs/sensitivity.md quotes them in, so the docs' tables are the
 * report's own numbers, not retyped ones.
 *
 *     npm run build && node scripts/sensitivity-markdown.mjs runs/report-cnn/sensitivity.json
 */
import { readFileSync } from "node:fs";
import { markdownTable, sensitivityNotes, sensitivityTables } from "../dist/analysis/tables.js";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/sensitivity-markdown.mjs DIR/sensitivity.json");
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, "utf8"));
const timing = `${report.trainings} trainings (${report.reused} reused) in ${(report.seconds / 60).toFixed(1)} min`;
console.log(`${report.dataset}, ${report.method}, seeds ${report.seeds.join(", ")}: ${timing}\n`);
for (const { title, table } of sensitivityTables(report))
  console.log(`${title}:\n\n${markdownTable(table)}\n`);
for (const line of sensitivityNotes(report)) console.log(`- ${line}`);
