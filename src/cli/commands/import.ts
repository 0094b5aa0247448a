/**
 * `onebit import MODEL.onnx --out MODEL.onebit [--input-shape N,H,W,C] [--input-range LO,HI]
 * [--classes a,b,...] [--verify]`: convert a BNN (or float model) exported to ONNX by
 * PyTorch, Larq/tf2onnx or onebit itself into a packed engine model.
 */
import type { Command } from "commander";
import { DATASET_NAMES } from "../../data/index.js";
import { importOnnxFile } from "../../interop/files.js";
import { formatOnnxReport } from "../../interop/verify-onnx.js";
import { positiveInt } from "../args.js";

interface ImportCliOptions {
  out: string;
  inputShape?: number[];
  inputRange?: [number, number];
  classes?: string[];
  verify: boolean;
  dataset: string;
  dataDir?: string;
  limitTest?: number;
  json: boolean;
}

function numbers(what: string, count?: number) {
  return (v: string): number[] => {
    const xs = v.split(",").map((s) => Number(s.trim()));
    if (xs.some((x) => !Number.isFinite(x)) || (count !== undefined && xs.length !== count)) {
      throw new Error(`${what} must be ${count ?? "a list of"} comma-separated numbers, got '${v}'`);
    }
    return xs;
  };
}

export function register(program: Command): void {
  program
    .command("import")
    .description("convert an ONNX model (binarized layers recognized) into a packed .onebit model")
    .argument("<model>", "an .onnx file (e.g. from torch.onnx.export)")
    .requiredOption("--out <file>", "the .onebit file to write (atomically)")
    .option(
      "--input-shape <dims>",
      "input shape N,H,W,C (or N,n) for dynamic dimensions",
      numbers("--input-shape"),
    )
    .option(
      "--input-range <lo,hi>",
      "the range the model was trained on; raw pixels 0..255 map onto it linearly (default 0,1)",
      numbers("--input-range", 2),
    )
    .option("--classes <names>", "comma-separated class names (default 0,1,...)", (v) => v.split(","))
    .option(
      "--verify",
      "compare with onnxruntime on the test set: classes identical, scores within 1e-4",
      false,
    )
    .option("--dataset <name>", `test set for --verify: ${DATASET_NAMES.join(", ")}`, "mnist")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--limit-test <n>", "verify on the first n test images", positiveInt)
    .option("--json", "print one JSON object", false)
    .action(async (file: string, o: ImportCliOptions) => {
      const r = await importOnnxFile(file, o.out, {
        inputShape: o.inputShape,
        inputRange: o.inputRange,
        classNames: o.classes,
        ...(o.verify ? { verify: { dataset: o.dataset, dataDir: o.dataDir, limitTest: o.limitTest } } : {}),
      });
      const kinds = r.model.layers.map((l) => l.kind);
      const binary = kinds.filter((k) => k.startsWith("binary_")).length;
      if (o.json) {
        const summary = { model: file, out: o.out, bytes: r.bytes, layers: kinds, binary_layers: binary };
        process.stdout.write(`${JSON.stringify({ ...summary, warnings: r.warnings, verify: r.verify })}\n`);
      } else {
        process.stdout.write(
          `${o.out}: ${r.bytes} bytes, ${kinds.length} layers (${binary} binary): ${kinds.join(" > ")}\n` +
            r.warnings.map((w) => `warning: ${w}\n`).join("") +
            (r.verify ? `${formatOnnxReport(r.verify)}\n` : ""),
        );
      }
      if (r.verify && !r.verify.ok) process.exitCode = 1;
    });
}
