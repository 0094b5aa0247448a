/** `onebit export CHECKPOINT --out model.onebit`: convert a trained checkpoint to a packed engine model. */
import type { Command } from "commander";
import { encodeModel } from "../../engine/format.js";
import { convertCheckpoint } from "../../export/checkpoint.js";
import { exportOnnxCommand } from "../../interop/export-command.js";
import { writeFileAtomic } from "../../util/atomicWrite.js";

interface ExportOptions {
  out: string;
  dataset?: string;
  dataDir?: string;
  json: boolean;
  format: string;
  verify?: boolean;
}

export function register(program: Command): void {
  program
    .command("export")
    .description("convert a checkpoint into a packed .onebit model for the inference engine")
    .argument("<checkpoint>", "a checkpoint written by `onebit train` (OUT/last.ckpt)")
    .requiredOption("--out <file>", "the .onebit file to write (atomically)")
    .option("--dataset <name>", "data set for class names and preprocessing (default: the one trained on)")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--json", "print one JSON object", false)
    .option("--format <format>", "onebit (packed engine model) or onnx (standard ONNX graph)", "onebit")
    .option("--verify", "with --format onnx: compare onnxruntime with the engine on the test set", false)
    .action(async (file: string, o: ExportOptions) => {
      if (o.format === "onnx") return exportOnnxCommand(file, o);
      if (o.format !== "onebit") throw new Error(`--format must be onebit or onnx, got '${o.format}'`);
      const { engineModel, model } = await convertCheckpoint(file, {
        dataset: o.dataset,
        dataDir: o.dataDir,
      });
      const bytes = encodeModel(engineModel);
      await writeFileAtomic(o.out, bytes);
      const kinds = engineModel.layers.map((l) => l.kind);
      const summary = {
        checkpoint: file,
        out: o.out,
        bytes: bytes.length,
        model: engineModel.name,
        layers: kinds,
        binary_layers: kinds.filter((k) => k.startsWith("binary_")).length,
        params: model.paramCounts(),
      };
      model.dispose();
      process.stdout.write(
        o.json
          ? `${JSON.stringify(summary)}\n`
          : `${o.out}: ${summary.bytes} bytes, ${kinds.length} layers (${summary.binary_layers} binary): ${kinds.join(" > ")}\n`,
      );
    });
}
