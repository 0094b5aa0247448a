/** `onebit eval CHECKPOINT`: test accuracy and loss of a trained checkpoint. */
import type { Command } from "commander";
import { DATASET_NAMES, type DatasetName, loadDataset } from "../../data/index.js";
import { type BackendKind, resolveThreads } from "../../kernels/index.js";
import { modelOfCheckpoint, readCheckpoint } from "../../nn/checkpoint.js";
import { createContext } from "../../tensor/index.js";
import { evaluate } from "../../train/index.js";
import { positiveInt } from "../args.js";

interface EvalOptions {
  dataset?: string;
  dataDir?: string;
  limitTest?: number;
  json: boolean;
  backend: string;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("eval")
    .description("evaluate a checkpoint on a data set's test split")
    .argument("<checkpoint>", "a checkpoint written by `onebit train` (OUT/last.ckpt)")
    .option("--dataset <name>", `${DATASET_NAMES.join(", ")} (default: the one it was trained on)`)
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--limit-test <n>", "use the first n test images", positiveInt)
    .option("--json", "print one JSON object", false)
    .option(
      "--backend <name>",
      "wasm (the best build: relaxed SIMD, SIMD or scalar), wasm-relaxed, wasm-simd, wasm-scalar or ref",
      "wasm",
    )
    .option("--threads <n>", "threads for the kernels (default: all cores)", positiveInt)
    .action(async (file: string, o: EvalOptions) => {
      const ck = await readCheckpoint(file);
      const dataset = o.dataset ?? (ck.state.dataset as string | undefined);
      if (!dataset || !DATASET_NAMES.includes(dataset as DatasetName)) {
        throw new Error(`--dataset must be one of ${DATASET_NAMES.join(", ")} (got ${dataset ?? "nothing"})`);
      }
      const data = await loadDataset(dataset as DatasetName, {
        dataDir: o.dataDir,
        limitTest: o.limitTest,
        limitTrain: 0,
      });
      const ctx = await createContext(o.backend as BackendKind, { threads: await resolveThreads(o.threads) });
      const model = modelOfCheckpoint(ctx, ck, file);
      const r = evaluate(model, data.test, data.preprocessing);
      const out = {
        checkpoint: file,
        model: ck.spec.name,
        dataset,
        epoch: ck.epoch,
        test_accuracy: r.accuracy,
        test_loss: r.loss,
        count: r.count,
      };
      process.stdout.write(
        o.json
          ? `${JSON.stringify(out)}\n`
          : `${out.model} (epoch ${out.epoch}) on ${dataset}: test accuracy ${(100 * r.accuracy).toFixed(2)}%, loss ${r.loss.toFixed(4)} over ${r.count} images\n`,
      );
      model.dispose();
    });
}
