/** `onebit summary CHECKPOINT|MODEL.onebit [--json]`: per-layer parameters, bits, memory and MACs. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { summarizeCheckpoint, summarizeEngineModel } from "../../analysis/summary.js";
import { formatTable, summaryFooter, summaryTable } from "../../analysis/tables.js";
import { decodeModel } from "../../engine/format.js";
import { decodeCheckpoint } from "../../nn/checkpointFormat.js";

/** The summary of a checkpoint or a `.onebit` file, told apart by their magic bytes. */
export async function summarizeFile(file: string) {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic === "ONEBITCK") return summarizeCheckpoint(decodeCheckpoint(bytes, file), file);
  return summarizeEngineModel(decodeModel(bytes, file), bytes.length, file);
}

export function register(program: Command): void {
  program
    .command("summary")
    .description(
      "per-layer parameters, bits, memory (float32 vs deployed) and MACs of a checkpoint or .onebit model",
    )
    .argument("<file>", "a checkpoint (OUT/last.ckpt) or a .onebit model")
    .option("--json", "print one JSON object", false)
    .action(async (file: string, o: { json: boolean }) => {
      const s = await summarizeFile(file);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      const title = `${s.model} (${s.kind === "onebit" ? ".onebit" : "checkpoint"} ${file}), input [${s.inputShape}]`;
      process.stdout.write(`${title}\n${formatTable(summaryTable(s))}\n${summaryFooter(s).join("\n")}\n`);
    });
}
