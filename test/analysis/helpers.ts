/** Test helpers: checkpoints of freshly built (untrained) models, and the CLI run in-process. */

import path from "node:path";
import { register as registerSensitivity } from "../../src/cli/commands/sensitivity.js";
import { register as registerSummary } from "../../src/cli/commands/summary.js";
import { buildModel } from "../../src/nn/build.js";
import { saveCheckpoint, snapshotTensors } from "../../src/nn/checkpoint.js";
import type { ModelConfig } from "../../src/nn/checkpointFormat.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";
import { runCli } from "../cliHarness.js";

/** Writes DIR/NAME.ckpt holding `config` built with seed 0 (state.dataset = mnist unless given). */
export async function writeCheckpoint(
  dir: string,
  name: string,
  config: ModelConfig,
  state: Record<string, unknown> = { dataset: "mnist" },
): Promise<string> {
  const ctx = await createContext("wasm");
  const model = buildModel(ctx, config, new Random(0));
  const file = path.join(dir, `${name}.ckpt`);
  await saveCheckpoint(file, {
    spec: model.spec,
    model: config,
    epoch: 0,
    state,
    tensors: snapshotTensors(model.namedTensors()),
  });
  model.dispose();
  return file;
}

/** Runs `onebit ARGS` with the summary and sensitivity commands; returns stdout and stderr. */
export function onebit(...args: string[]): Promise<{ out: string; err: string }> {
  return runCli([registerSummary, registerSensitivity], args);
}
