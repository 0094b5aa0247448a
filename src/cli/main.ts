#!/usr/bin/env node
/**
 * The `onebit` command. Argument parsing only: every command calls the public API.
 * Each command lives in ./commands/NAME.ts and exports `register(program)`.
 */
import { Command } from "commander";
import { register as registerBench } from "./commands/bench.js";
import { register as registerEval } from "./commands/eval.js";
import { register as registerExport } from "./commands/export.js";
import { register as registerImport } from "./commands/import.js";
import { register as registerModels } from "./commands/models.js";
import { register as registerRun } from "./commands/run.js";
import { register as registerSensitivity } from "./commands/sensitivity.js";
import { register as registerStart } from "./commands/start.js";
import { register as registerSummary } from "./commands/summary.js";
import { register as registerTrain } from "./commands/train.js";
import { readVersion } from "./version.js";

const program = new Command();
program
  .name("onebit")
  .description("Train binary neural networks and run them with XNOR-popcount kernels.")
  .version(readVersion())
  .showHelpAfterError();

registerBench(program);
registerTrain(program);
registerEval(program);
registerModels(program);
registerStart(program);
registerExport(program);
registerImport(program);
registerRun(program);
registerSummary(program);
registerSensitivity(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`onebit: ${message}\n`);
  if (process.env.ONEBIT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
