/**
 * The `--format onnx` branch of `onebit export CHECKPOINT --out MODEL.onnx [--verify]`:
 * writes the standard ONNX graph of the checkpoint's engine model and prints a summary
 * (and, with --verify, the comparison with onnxruntime on the test set).
 */
import { exportCheckpointOnnx } from "./files.js";
import { formatOnnxReport } from "./verify-onnx.js";

export interface ExportOnnxCliOptions {
  out: string;
  dataset?: string;
  dataDir?: string;
  json: boolean;
  verify?: boolean;
}

export async function exportOnnxCommand(checkpoint: string, o: ExportOnnxCliOptions): Promise<void> {
  const r = await exportCheckpointOnnx(checkpoint, o.out, {
    dataset: o.dataset,
    dataDir: o.dataDir,
    ...(o.verify ? { verify: {} } : {}),
  });
  const kinds = r.engineModel.layers.map((l) => l.kind);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ checkpoint, out: o.out, format: "onnx", bytes: r.bytes, layers: kinds, verify: r.verify })}\n`,
    );
  } else {
    process.stdout.write(
      `${o.out}: ${r.bytes} bytes, ONNX opset 13 graph of ${kinds.length} engine layers: ${kinds.join(" > ")}\n` +
        (r.verify ? `${formatOnnxReport(r.verify)}\n` : ""),
    );
  }
  if (r.verify && !r.verify.ok) process.exitCode = 1;
}
