/**
 * Checkpoint -> engine model: rebuild the trained model from its spec, load its weights
 * and batch-norm statistics, and convert it with the data set's class names and
 * preprocessing (the data set the checkpoint records, unless overridden).
 *
 *     const { engineModel } = await convertCheckpoint("runs/bnn-cnn-mnist/last.ckpt");
 *     await writeFileAtomic("mnist.onebit", encodeModel(engineModel));
 */
import { DATASET_NAMES, type DataSplits, type DatasetName, loadDataset } from "../data/index.js";
import type { EngineModel } from "../engine/model.js";
import type { BackendKind } from "../kernels/index.js";
import { type Checkpoint, loadCheckpoint, modelOfCheckpoint } from "../nn/checkpoint.js";
import type { Model } from "../nn/model.js";
import { createContext } from "../tensor/index.js";
import { convertModel } from "./convert.js";

/** A checkpoint and the live model rebuilt from it (weights loaded). */
export interface TrainedModel {
  checkpoint: Checkpoint;
  model: Model;
}

/** The model a checkpoint describes, with its weights, on a new context. */
export async function loadTrainedModel(file: string, backend: BackendKind = "wasm"): Promise<TrainedModel> {
  const checkpoint = await loadCheckpoint(file);
  const ctx = await createContext(backend);
  const model = modelOfCheckpoint(ctx, checkpoint, file);
  return { checkpoint, model };
}

/** Which data set (and how much of its test split) to use for a checkpoint. */
export interface DatasetChoice {
  /** Data set name; default: the one the checkpoint was trained on. */
  dataset?: string;
  dataDir?: string;
  /** Test images to load (default: all). */
  limitTest?: number;
}

/** The data set (test split only) a checkpoint was trained on, or the one named. */
export async function checkpointDataset(
  ck: Checkpoint,
  file: string,
  o: DatasetChoice = {},
): Promise<DataSplits> {
  const name = o.dataset ?? (ck.state.dataset as string | undefined);
  if (!name || !DATASET_NAMES.includes(name as DatasetName)) {
    throw new Error(
      `${file}: no known data set (got ${name ?? "nothing"}); pass --dataset ${DATASET_NAMES.join("|")}`,
    );
  }
  return loadDataset(name as DatasetName, { dataDir: o.dataDir, limitTrain: 0, limitTest: o.limitTest });
}

/**
 * Reads a checkpoint file and converts its model into an EngineModel (batch norms folded
 * into thresholds, weights packed) with the class names, preprocessing and metadata (data
 * set, epoch, test accuracy) of the data set it was trained on. Returns the model, it does
 * not write a file: `writeModelFile(path, engineModel)` does (what `onebit export` runs).
 */
export async function convertCheckpoint(
  file: string,
  o: DatasetChoice & { backend?: BackendKind } = {},
): Promise<TrainedModel & { engineModel: EngineModel; data: DataSplits }> {
  const trained = await loadTrainedModel(file, o.backend);
  const data = await checkpointDataset(trained.checkpoint, file, { ...o, limitTest: o.limitTest ?? 1 });
  const history = trained.checkpoint.state.history as { testAccuracy?: number }[] | undefined;
  const engineModel = convertModel(trained.model, {
    classNames: data.classes,
    preprocessing: data.preprocessing,
    metadata: {
      dataset: data.name,
      epoch: trained.checkpoint.epoch,
      ...(history?.length ? { testAccuracy: history[history.length - 1]!.testAccuracy ?? null } : {}),
    },
  });
  return { ...trained, engineModel, data };
}

/** @deprecated Use {@link convertCheckpoint}: it converts and returns the model, it writes no file. */
export const exportCheckpoint = convertCheckpoint;
