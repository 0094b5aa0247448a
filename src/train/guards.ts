/**
 * Checks the trainer runs before its first step, so that bad input costs an error, not an
 * epoch: the data (labels in range, counts matching, finite float images, and images of the
 * model's input shape) and the output folder (it exists or can be made, and takes files).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { DataError, type DataSplits, validateDataset } from "../data/index.js";

/**
 * Validates both splits (validateDataset: shapes, counts, labels, finite values) and that
 * their images have the shape the model takes; `modelSource` names where the model came from
 * (a checkpoint being resumed) in the error.
 */
export function checkTrainingData(
  data: DataSplits,
  inputShape: readonly number[],
  modelSource?: string,
): void {
  for (const split of [data.train, data.test]) {
    validateDataset(split);
    const shape = [split.height, split.width, split.channels];
    const flat = shape[0]! * shape[1]! * shape[2]!;
    const fits =
      (inputShape.length === shape.length && inputShape.every((d, i) => d === shape[i])) ||
      (inputShape.length === 1 && inputShape[0] === flat);
    if (!fits) {
      throw new DataError(
        split.name,
        `images are [${shape.join(", ")}], the model${modelSource ? ` in ${modelSource}` : ""} takes [${inputShape.join(", ")}]`,
      );
    }
  }
}

/**
 * Makes `dir` (recursively) and proves it takes files by creating and removing a probe;
 * throws an Error naming the folder and the system's reason (ENOTDIR, EACCES, EROFS, ...).
 */
export function prepareOutDir(dir: string): void {
  const probe = path.join(dir, `.onebit-write-test-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.closeSync(fs.openSync(probe, "wx"));
    fs.rmSync(probe);
  } catch (e) {
    throw new Error(`${dir}: cannot write checkpoints here (${(e as Error).message})`, { cause: e });
  }
}
