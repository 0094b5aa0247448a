/**
 * `onebit start` (`npm start`): the main demonstration, end to end. Trains `bnn-cnn` (the
 * Larq MNIST tutorial's binary CNN) on MNIST for a few minutes (2 epochs by default),
 * exports it to a packed `.onebit` model, verifies the engine against the training graph on
 * every test image, and runs the packed model: test accuracy, images/s at batch 64 and 1,
 * file size against the float32 weights.
 */
import path from "node:path";
import type { Command } from "commander";
import { encodeModel } from "../../engine/format.js";
import { Engine } from "../../engine/runtime.js";
import { convertCheckpoint } from "../../export/checkpoint.js";
import { formatVerifyReport, verifyEngine } from "../../export/verify.js";
import { writeFileAtomic } from "../../util/atomicWrite.js";
import { float32WeightBytes, measureEngine, sizeLine } from "./run.js";
import { printResult, runTrain, type TrainCliOptions, trainOptions, withCtrlC } from "./train.js";

export function register(program: Command): void {
  trainOptions(
    program
      .command("start")
      .description("train bnn-cnn on MNIST, export it packed, verify it and run it (accuracy, speed, size)")
      .option("--model <name>", "model builder", "bnn-cnn")
      .option("--dataset <name>", "data set", "mnist"),
    { epochs: 2 },
  ).action(async (o: TrainCliOptions) => {
    const log = (line: string) => process.stderr.write(`onebit start: ${line}\n`);
    const out = o.out ?? `runs/start-${o.model}-${o.dataset}`;
    log(`1/4 training ${o.model} on ${o.dataset} for ${o.epochs} epochs (checkpoints in ${out})`);
    const r = await withCtrlC((signal) => runTrain({ ...o, out }, signal));
    printResult(o, r);
    r.model.dispose();
    // The training context's worker threads are done: close them (the rest runs on one thread).
    await (r.model.ctx.backend as { close?: () => Promise<void> }).close?.();
    if (r.stopped) {
      process.exitCode = 130;
      return;
    }
    if (!r.checkpoint) throw new Error("onebit start: training wrote no checkpoint to export");

    const file = path.join(out, "model.onebit");
    log(`2/4 exporting ${r.checkpoint} to ${file}`);
    const { engineModel, model, data } = await convertCheckpoint(r.checkpoint, {
      dataDir: o.dataDir,
      // The whole test split unless --limit-test (convertCheckpoint alone loads one image).
      limitTest: o.limitTest ?? Number.POSITIVE_INFINITY,
    });
    const bytes = encodeModel(engineModel);
    await writeFileAtomic(file, bytes);
    process.stdout.write(
      `${file}: ${engineModel.layers.map((l) => l.kind).join(" > ")}\n` +
        `  size ${sizeLine(bytes.length, float32WeightBytes(engineModel))}\n`,
    );

    const engine = await Engine.load(bytes, { maxBatch: 64 });
    const test = data.test;
    log(`3/4 verifying the packed model against the training graph on ${test.count} test images`);
    const report = verifyEngine(model, engine, {
      images: test.images,
      count: test.count,
      preprocessing: data.preprocessing,
      batchSize: 64,
    });
    model.dispose();
    process.stdout.write(`${formatVerifyReport(report)}\n`);

    log("4/4 running the packed model");
    const m = measureEngine(engine, test);
    engine.dispose();
    process.stdout.write(
      `packed model [${engine.backend.name}]: test accuracy ${(100 * m.test_accuracy).toFixed(2)}% over ${m.test_images} images; ` +
        `${m.images_per_s_batch64.toFixed(0)} images/s at batch 64, ${m.images_per_s_batch1.toFixed(0)} images/s at batch 1 ` +
        `(${m.latency_ms_batch1.toFixed(3)} ms per image)\n`,
    );
    if (!report.ok) process.exitCode = 1;
  });
}
