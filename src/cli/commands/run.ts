/**
 * `onebit run MODEL --dataset mnist`: test accuracy, throughput at batch 64 and batch 1,
 * latency per image and file size of a .onebit model; `--verify CHECKPOINT` compares the
 * engine with the training graph (eval mode) on every test image.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { DATASET_NAMES, type Dataset, type DatasetName, imageSize, loadDataset } from "../../data/index.js";
import { type EngineModel, shapeSize } from "../../engine/model.js";
import { Engine } from "../../engine/runtime.js";
import { loadTrainedModel } from "../../export/checkpoint.js";
import { formatVerifyReport, verifyEngine } from "../../export/verify.js";
import { type BackendKind, resolveThreads } from "../../kernels/index.js";
import { positiveInt } from "../args.js";

export interface EngineMeasurement {
  test_images: number;
  test_accuracy: number;
  images_per_s_batch64: number;
  images_per_s_batch1: number;
  latency_ms_batch1: number;
}

/**
 * Accuracy over the whole test set (predicted in batches of the engine's maxBatch), its
 * images/s, and images/s and latency one image at a time (over the first 1000 images).
 */
export function measureEngine(engine: Engine, test: Dataset): EngineMeasurement {
  const size = imageSize(test);
  const t64 = performance.now();
  const { classes } = engine.predict(test.images);
  const batchSeconds = (performance.now() - t64) / 1000;
  let correct = 0;
  for (let i = 0; i < test.count; i++) if (classes[i] === test.labels[i]) correct++;
  const singles = Math.min(test.count, 1000);
  const t1 = performance.now();
  for (let i = 0; i < singles; i++) engine.predict(test.images.subarray(i * size, (i + 1) * size));
  const singleSeconds = (performance.now() - t1) / 1000;
  return {
    test_images: test.count,
    test_accuracy: correct / test.count,
    images_per_s_batch64: test.count / batchSeconds,
    images_per_s_batch1: singles / singleSeconds,
    latency_ms_batch1: (1000 * singleSeconds) / singles,
  };
}

/**
 * Bytes the model's weight matrices (conv and dense kernels, and biases) would take as
 * float32: the size a float framework stores for the same network, to compare the file with.
 */
export function float32WeightBytes(model: EngineModel): number {
  let n = 0;
  for (const layer of model.layers) {
    if ("weights" in layer) n += shapeSize(layer.weights.shape);
    if ("bias" in layer && layer.bias) n += shapeSize(layer.bias.shape);
  }
  return 4 * n;
}

/** "123,456 bytes, 12.3x smaller than its float32 weights (1,518,000 bytes)". */
export function sizeLine(fileBytes: number, float32Bytes: number): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  return `${fmt(fileBytes)} bytes, ${(float32Bytes / fileBytes).toFixed(1)}x smaller than its float32 weights (${fmt(float32Bytes)} bytes)`;
}

interface RunOptions {
  dataset?: string;
  dataDir?: string;
  limitTest?: number;
  backend: string;
  verify?: string;
  json: boolean;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("run")
    .description(
      "run a .onebit model on a test set: accuracy, images/s, latency; --verify against its checkpoint",
    )
    .argument("<model>", "a .onebit file written by `onebit export`")
    .option("--dataset <name>", `${DATASET_NAMES.join(", ")} (default: the model's)`)
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--limit-test <n>", "use the first n test images", positiveInt)
    .option(
      "--backend <name>",
      "wasm (the best build: relaxed SIMD, SIMD or scalar), wasm-relaxed, wasm-simd, wasm-scalar or ref",
      "wasm",
    )
    .option("--verify <checkpoint>", "compare with the training graph of this checkpoint on every test image")
    .option("--json", "print one JSON object", false)
    .option("--threads <n>", "threads for the kernels (default: all cores)", positiveInt)
    .action(async (file: string, o: RunOptions) => {
      const bytes = new Uint8Array(await readFile(file));
      const threads = await resolveThreads(o.threads);
      const engine = await Engine.load(bytes, { backend: o.backend as BackendKind, maxBatch: 64, threads });
      const dataset = o.dataset ?? (engine.model.metadata.dataset as string | undefined);
      if (!dataset || !DATASET_NAMES.includes(dataset as DatasetName)) {
        throw new Error(`--dataset must be one of ${DATASET_NAMES.join(", ")} (got ${dataset ?? "nothing"})`);
      }
      const data = await loadDataset(dataset as DatasetName, {
        dataDir: o.dataDir,
        limitTrain: 0,
        limitTest: o.limitTest,
      });
      const test = data.test;
      const size = imageSize(test);
      if (size !== engine.imageSize) {
        throw new Error(
          `${file}: the model takes [${engine.inputShape}] images, ${test.name} has ${test.height}x${test.width}x${test.channels}`,
        );
      }

      const out: Record<string, unknown> = {
        model: file,
        dataset,
        backend: engine.backend.name,
        threads: engine.backend.threads ?? 1,
        file_bytes: bytes.length,
        float32_weight_bytes: float32WeightBytes(engine.model),
        ...measureEngine(engine, test),
      };
      let verified = true;
      let report = "";
      if (o.verify) {
        const { model } = await loadTrainedModel(o.verify, o.backend as BackendKind);
        const r = verifyEngine(model, engine, {
          images: test.images,
          count: test.count,
          preprocessing: data.preprocessing,
          batchSize: 64,
        });
        model.dispose();
        out.verify = r;
        verified = r.ok;
        report = formatVerifyReport(r);
      }
      engine.dispose();
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else {
        process.stdout.write(
          `${file} (${out.file_bytes} bytes) on ${dataset} [${out.backend}]: test accuracy ${(100 * (out.test_accuracy as number)).toFixed(2)}% over ${test.count} images\n` +
            `  size ${sizeLine(out.file_bytes as number, out.float32_weight_bytes as number)}\n` +
            `  ${(out.images_per_s_batch64 as number).toFixed(0)} images/s at batch 64, ${(out.images_per_s_batch1 as number).toFixed(0)} images/s at batch 1 (${(out.latency_ms_batch1 as number).toFixed(3)} ms per image)\n` +
            (report ? `${report}\n` : ""),
        );
      }
      if (!verified) process.exitCode = 1;
    });
}
