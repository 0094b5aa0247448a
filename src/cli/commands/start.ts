/**
 * `onebit start` (`npm start`): the main demonstration. Trains `bnn-cnn` (the Larq MNIST
 * tutorial's binary CNN) on MNIST for a few minutes (2 epochs by default) and prints the
 * test accuracy.
 */
import type { Command } from "commander";
import { printResult, runTrain, type TrainCliOptions, trainOptions } from "./train.js";

export function register(program: Command): void {
  trainOptions(
    program
      .command("start")
      .description("train bnn-cnn on MNIST for a few minutes and print the test accuracy")
      .option("--model <name>", "model builder", "bnn-cnn")
      .option("--dataset <name>", "data set", "mnist"),
    { epochs: 2 },
  ).action(async (o: TrainCliOptions) => {
    process.stderr.write(`onebit start: training ${o.model} on ${o.dataset} for ${o.epochs} epochs\n`);
    const r = await runTrain({ ...o, out: o.out ?? `runs/start-${o.model}-${o.dataset}` });
    printResult(o, r);
    r.model.dispose();
  });
}
