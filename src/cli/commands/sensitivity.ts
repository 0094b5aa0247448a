/**
 * `onebit sensitivity CHECKPOINT --dataset NAME`: per-layer sensitivity to binarization
 * and bit width (src/analysis/sensitivity.ts), with a table, JSON, pictures and an HTML report.
 */
import type { Command } from "commander";
import { writeReport } from "../../analysis/report.js";
import { runSensitivity, type SensitivityMode } from "../../analysis/sensitivity.js";
import { summarizeCheckpoint } from "../../analysis/summary.js";
import { formatTable, sensitivityTables } from "../../analysis/tables.js";
import { DATASET_NAMES, type DatasetName, loadDataset } from "../../data/index.js";
import { type BackendKind, resolveThreads } from "../../kernels/index.js";
import { loadCheckpoint } from "../../nn/checkpoint.js";
import { createContext } from "../../tensor/index.js";
import { Progress } from "../../util/progress.js";
import { finite, nonNegativeInt, positiveInt } from "../args.js";

interface SensitivityCliOptions {
  dataset: string;
  dataDir?: string;
  bits: string;
  mode: string;
  layers?: string;
  binary?: string;
  finetuneEpochs: number;
  limitTrain: number;
  limitTest?: number;
  calibration: number;
  batch: number;
  lr: number;
  seed: number;
  out?: string;
  json: boolean;
  backend: string;
  threads?: number;
}

const MODES = ["binarize-one", "keep-one", "both"];

export function register(program: Command): void {
  program
    .command("sensitivity")
    .description(
      "per-layer sensitivity: quantize one layer of a float model, or keep one layer of a binary model at full precision",
    )
    .argument(
      "<checkpoint>",
      "the full-precision model (binarize-one; keep-one derives its binary model from it without --binary)",
    )
    .requiredOption("--dataset <name>", DATASET_NAMES.join(", "))
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--bits <list>", "bit widths for binarize-one (1 = sign, k > 1 = dorefa(k))", "1,2,4,8")
    .option("--mode <mode>", MODES.join(", "), "both")
    .option(
      "--layers <names>",
      "weight layers to analyse, e.g. conv1,dense2 or layers.3; in graph models spec names, or a name prefix for a block (stage2_block1) varied together (default all)",
    )
    .option(
      "--binary <checkpoint>",
      "a trained binary model for keep-one (default: CHECKPOINT if binary, else derived)",
    )
    .option(
      "--finetune-epochs <n>",
      "fine-tune epochs per variant (on --limit-train images)",
      nonNegativeInt,
      1,
    )
    .option(
      "--limit-train <n>",
      "training images for fine-tuning and batch-norm re-estimation",
      positiveInt,
      4000,
    )
    .option("--limit-test <n>", "use the first n test images (default all)", positiveInt)
    .option("--calibration <n>", "training images for the batch-norm re-estimation", positiveInt, 1000)
    .option("--batch <n>", "fine-tune batch size", positiveInt, 64)
    .option("--lr <x>", "fine-tune learning rate (Adam)", finite, 5e-4)
    .option("--seed <n>", "seed of the fine-tune batches", nonNegativeInt, 0)
    .option("--out <dir>", "write sensitivity.json, heatmap/bars .svg/.png and report.html here")
    .option("--json", "print the report as one JSON object", false)
    .option("--backend <name>", "wasm, wasm-simd, wasm-scalar or ref", "wasm")
    .option("--threads <n>", "threads for the kernels (default: all cores)", positiveInt)
    .action(async (file: string, o: SensitivityCliOptions) => {
      if (!MODES.includes(o.mode))
        throw new Error(`--mode must be one of ${MODES.join(", ")}, got '${o.mode}'`);
      if (!DATASET_NAMES.includes(o.dataset as DatasetName)) {
        throw new Error(`unknown dataset '${o.dataset}'; choose one of: ${DATASET_NAMES.join(", ")}`);
      }
      const bits = o.bits.split(",").map((b) => Number(b.trim()));
      const checkpoint = await loadCheckpoint(file);
      const binary = o.binary ? await loadCheckpoint(o.binary) : undefined;
      const data = await loadDataset(o.dataset as DatasetName, {
        dataDir: o.dataDir,
        limitTrain: o.limitTrain,
        limitTest: o.limitTest,
      });
      const ctx = await createContext(o.backend as BackendKind, { threads: await resolveThreads(o.threads) });
      const progress = new Progress();
      const report = runSensitivity({
        ctx,
        checkpoint,
        checkpointFile: file,
        binary,
        binaryFile: o.binary,
        data,
        mode: o.mode as SensitivityMode,
        bits,
        layers: o.layers?.split(",").map((s) => s.trim()),
        finetuneEpochs: o.finetuneEpochs,
        batchSize: o.batch,
        lr: o.lr,
        seed: o.seed,
        calibrationImages: o.calibration,
        onProgress: (e) => {
          const label = `[${e.index + 1}/${e.total}] ${e.variant}`;
          if (e.step === 0)
            progress.begin(label, Math.max(1, o.finetuneEpochs * Math.ceil(data.train.count / o.batch)));
          else progress.update(e.step);
        },
        onVariant: (e) => progress.end({ test_acc: e.accuracy, s: Number(e.seconds.toFixed(1)) }),
      });
      const summaries = [await summarizeCheckpoint(checkpoint, file)];
      if (binary && o.binary) summaries.push(await summarizeCheckpoint(binary, o.binary));
      const files = o.out ? await writeReport(o.out, report, summaries) : undefined;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...report, files })}\n`);
        return;
      }
      for (const t of sensitivityTables(report))
        process.stdout.write(`${t.title}\n${formatTable(t.table)}\n\n`);
      process.stdout.write(`${report.variants} variants in ${report.seconds.toFixed(0)} s\n`);
      if (files) process.stdout.write(`report: ${files.html}\n`);
    });
}
