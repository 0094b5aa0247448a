/**
 * `onebit summary CHECKPOINT|MODEL.onebit|SPEC.json [--json]`, or `onebit summary --model
 * NAME [--input-shape 224,224,3 --classes 1000 --width N --stages 4,4,4,4]`: per-layer
 * parameters, bits, memory and MACs.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { summarizeCheckpoint, summarizeEngineModel, summarizeSpec } from "../../analysis/summary.js";
import { formatTable, summaryFooter, summaryTable } from "../../analysis/tables.js";
import { decodeModel } from "../../engine/format.js";
import { builderSpec } from "../../nn/builders.js";
import { decodeCheckpoint } from "../../nn/checkpointFormat.js";
import { resolveSpec } from "../../nn/spec.js";

interface SummaryOptions {
  json: boolean;
  model?: string;
  inputShape?: string;
  classes?: string;
  width?: string;
  stages?: string;
  float: boolean;
}

const numbers = (flag: string, v: string): number[] => {
  const xs = v.split(",").map((x) => Number(x.trim()));
  if (!xs.every((x) => Number.isSafeInteger(x) && x > 0))
    throw new RangeError(`${flag}: expected positive integers, got '${v}'`);
  return xs;
};

/** The summary of a builder's spec from the command-line options. */
function summarizeBuilder(o: SummaryOptions) {
  const options: Record<string, unknown> = {};
  if (o.inputShape) options.inputShape = numbers("--input-shape", o.inputShape);
  if (o.classes) options.classes = numbers("--classes", o.classes)[0];
  if (o.stages) options.stages = numbers("--stages", o.stages);
  if (o.width)
    options[["bnn-cnn", "xnor-cnn", "bwn-cnn"].includes(o.model!) ? "widthMultiplier" : "width"] = numbers(
      "--width",
      o.width,
    )[0];
  if (o.float) options.float = true;
  return summarizeSpec(builderSpec({ builder: o.model!, options }), o.model);
}

/** The summary of a checkpoint or a `.onebit` file, told apart by their magic bytes. */
export async function summarizeFile(file: string) {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (file.endsWith(".json")) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new Error(`${file}: not JSON (${(e as Error).message})`);
    }
    return summarizeSpec(resolveSpec(json, file).spec, file);
  }
  if (magic === "ONEBITCK") return summarizeCheckpoint(decodeCheckpoint(bytes, file), file);
  return summarizeEngineModel(decodeModel(bytes, file), bytes.length, file);
}

export function register(program: Command): void {
  program
    .command("summary")
    .description(
      "per-layer parameters, bits, memory (float32 vs deployed) and MACs of a checkpoint or .onebit model",
    )
    .argument("[file]", "a checkpoint (OUT/last.ckpt), a .onebit model or a model spec (.json)")
    .option("--model <name>", "instead of a file: a model builder's spec (e.g. birealnet)")
    .option("--input-shape <h,w,c>", "with --model: the input shape (default 28,28,1)")
    .option("--classes <n>", "with --model: the number of classes (default 10)")
    .option("--width <n>", "with --model: the builder's width option")
    .option("--stages <list>", "with --model: blocks per stage (residual builders)")
    .option("--float", "with --model: the float twin", false)
    .option("--json", "print one JSON object", false)
    .action(async (file: string | undefined, o: SummaryOptions) => {
      if (!file === !o.model) throw new Error("summary: give a file or --model NAME (one of them)");
      const s = file ? await summarizeFile(file) : await summarizeBuilder(o);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      const kind = s.kind === "onebit" ? ".onebit" : s.kind === "spec" ? "spec" : "checkpoint";
      const title = `${s.model} (${kind} ${file ?? o.model}), input [${s.inputShape}]`;
      process.stdout.write(`${title}\n${formatTable(summaryTable(s))}\n${summaryFooter(s).join("\n")}\n`);
    });
}
