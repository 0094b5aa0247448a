/**
 * `onebit sensitivity CHECKPOINT --dataset NAME`: per-layer sensitivity to binarization
 * and bit width (src/analysis/sensitivity.ts), with a table, JSON, pictures and an HTML report.
 */
import type { Command } from "commander";
import { writeReport } from "../../analysis/report.js";
import { runSensitivity, type SensitivityMode } from "../../analysis/sensitivity.js";
import { summarizeCheckpoint } from "../../analysis/summary.js";
import { formatTable, sensitivityNotes, sensitivityTables } from "../../analysis/tables.js";
import { DATASET_NAMES, type DatasetName, loadDataset } from "../../data/index.js";
import { type BackendKind, resolveThreads } from "../../kernels/index.js";
import { readCheckpoint } from "../../nn/checkpoint.js";
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
  retrain: boolean;
  seeds: number;
  epochs?: number;
  finetuneEpochs: number;
  limitTrain?: number;
  limitTest?: number;
  calibration: number;
  batch?: number;
  lr?: number;
  seed: number;
  out?: string;
  json: boolean;
  backend: string;
  threads?: number;
}

const MODES = ["binarize-one", "keep-one", "both"];
const FINETUNE_IMAGES = 4000;
const FINETUNE_BATCH = 64;
const FINETUNE_LR = 5e-4;

const minutes = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

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
      "--retrain",
      "train every variant and reference from scratch with its checkpoint's schedule (or --epochs, --lr, --batch) instead of fine-tuning it",
      false,
    )
    .option(
      "--seeds <n>",
      "measure every model with n seeds (--seed, --seed + 1, ...): mean and 95% interval",
      positiveInt,
      1,
    )
    .option("--epochs <n>", "retrain: epochs (default: the checkpoint's)", positiveInt)
    .option(
      "--finetune-epochs <n>",
      "fine-tune epochs per variant (on --limit-train images)",
      nonNegativeInt,
      1,
    )
    .option(
      "--limit-train <n>",
      `training images for fine-tuning or retraining and for the batch-norm re-estimation (default: ${FINETUNE_IMAGES} when fine-tuning, all when retraining)`,
      positiveInt,
    )
    .option("--limit-test <n>", "use the first n test images (default all)", positiveInt)
    .option("--calibration <n>", "training images for the batch-norm re-estimation", positiveInt, 1000)
    .option(
      "--batch <n>",
      `batch size (default: ${FINETUNE_BATCH} when fine-tuning, the checkpoint's when retraining)`,
      positiveInt,
    )
    .option(
      "--lr <x>",
      `learning rate (default: Adam ${FINETUNE_LR} when fine-tuning, the checkpoint's when retraining)`,
      finite,
    )
    .option(
      "--seed <n>",
      "the first seed (fine-tune batch order; retrain initialization and batch order)",
      nonNegativeInt,
      0,
    )
    .option("--out <dir>", "write sensitivity.json, heatmap/bars .svg/.png and report.html here")
    .option("--json", "print the report as one JSON object", false)
    .option(
      "--backend <name>",
      "wasm (the best build: relaxed SIMD, SIMD or scalar), wasm-relaxed, wasm-simd, wasm-scalar or ref",
      "wasm",
    )
    .option(
      "--threads <n>",
      "threads for the kernels (default: all cores); variants run one at a time on all of them",
      positiveInt,
    )
    .action(async (file: string, o: SensitivityCliOptions) => {
      if (!MODES.includes(o.mode))
        throw new Error(`--mode must be one of ${MODES.join(", ")}, got '${o.mode}'`);
      if (!DATASET_NAMES.includes(o.dataset as DatasetName)) {
        throw new Error(`unknown dataset '${o.dataset}'; choose one of: ${DATASET_NAMES.join(", ")}`);
      }
      if (o.epochs !== undefined && !o.retrain)
        throw new Error(
          "--epochs sets the retraining schedule: add --retrain (fine-tuning takes --finetune-epochs)",
        );
      const bits = o.bits.split(",").map((b) => Number(b.trim()));
      const checkpoint = await readCheckpoint(file);
      const binary = o.binary ? await readCheckpoint(o.binary) : undefined;
      const data = await loadDataset(o.dataset as DatasetName, {
        dataDir: o.dataDir,
        limitTrain: o.limitTrain ?? (o.retrain ? undefined : FINETUNE_IMAGES),
        limitTest: o.limitTest,
      });
      const threads = await resolveThreads(o.threads);
      const ctx = await createContext(o.backend as BackendKind, { threads });
      const progress = new Progress();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const method = o.retrain ? "retrain" : "finetune";
      const seedText = (seed: number) => (o.seeds > 1 ? `, seed ${seed}` : "");
      const report = await runSensitivity({
        ctx,
        checkpoint,
        checkpointFile: file,
        binary,
        binaryFile: o.binary,
        data,
        mode: o.mode as SensitivityMode,
        bits,
        layers: o.layers?.split(",").map((s) => s.trim()),
        method,
        finetuneEpochs: o.finetuneEpochs,
        batchSize: o.batch ?? FINETUNE_BATCH,
        lr: o.lr ?? FINETUNE_LR,
        retrain: { epochs: o.epochs, lr: o.lr, batchSize: o.batch },
        seed: o.seed,
        seeds: o.seeds,
        calibrationImages: o.calibration,
        progress: "auto",
        onStart: (e) =>
          log(
            `sensitivity (${method}): ${e.trainings} trainings on ${data.train.count} images, ${threads} thread${threads > 1 ? "s" : ""}` +
              `${e.reused ? ` (${e.reused} reused)` : ""}; estimated ${minutes(e.estimateSeconds)} (from a short timing)`,
          ),
        onTraining: (e) => {
          const label = `[${e.index + 1}/${e.total}] ${e.label}${seedText(e.seed)}`;
          if (e.steps > 0) progress.begin(label, e.steps);
          else if (o.retrain) log(`${label}: training from scratch`);
          else progress.begin(label, 1);
        },
        onStep: (step) => progress.update(step),
        onTrained: (e) => {
          const left = e.index + 1 < e.total ? `; about ${minutes(e.remainingSeconds)} left` : "";
          if (o.retrain)
            log(
              `[${e.index + 1}/${e.total}] ${e.label}${seedText(e.seed)}: test ${(100 * e.accuracy).toFixed(2)}% in ${e.seconds.toFixed(1)} s${left}`,
            );
          else
            progress.end({
              test_acc: e.accuracy,
              s: Number(e.seconds.toFixed(1)),
              left: minutes(e.remainingSeconds),
            });
        },
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
      for (const line of sensitivityNotes(report)) process.stdout.write(`${line}\n`);
      process.stdout.write(
        `${report.variants} models, ${report.trainings} trainings (${report.reused} reused) in ${report.seconds.toFixed(0)} s\n`,
      );
      if (files) process.stdout.write(`report: ${files.html}\n`);
    });
}
