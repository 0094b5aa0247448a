/**
 * Checkpoint files of trainable models (format: ./checkpointFormat.ts), written atomically
 * (temporary file, then rename). `readCheckpoint` is what the converter reads: the model
 * spec plus named float32 tensors ("quant_conv2d_1.kernel", "batch_norm_1.runningMean", ...).
 *
 *     const ck = await readCheckpoint("runs/mnist/last.ckpt");
 *     ck.spec.name;                                    // "bnn-cnn"
 *     ck.tensors.get("quant_conv2d_1.kernel")?.shape;  // [32, 3, 3, 1]
 */
import { readFile } from "node:fs/promises";
import { Heap } from "../kernels/heap.js";
import type { Context } from "../tensor/context.js";
import { createContext } from "../tensor/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { Random } from "../util/random.js";
import { buildModel } from "./build.js";
import {
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type NamedTensor,
} from "./checkpointFormat.js";
import type { Model } from "./model.js";

export type { Checkpoint, LayerRecord, ModelConfig, NamedTensor } from "./checkpointFormat.js";

/** Writes a checkpoint to `file` atomically (a temporary file, fsync, then rename). */
export async function writeCheckpoint(file: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(ck));
}

/**
 * Reads and decodes a checkpoint file, then checks that its model spec builds a model its
 * tensors fit (a CheckpointError naming the file otherwise).
 */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read checkpoint (${(e as Error).message})`);
  }
  const ck = decodeCheckpoint(bytes, file);
  await checkCheckpointModel(ck, file);
  return ck;
}

/** @deprecated Use {@link writeCheckpoint} (files are read and written by `read*`/`write*`). */
export const saveCheckpoint = writeCheckpoint;
/** @deprecated Use {@link readCheckpoint} (files are read and written by `read*`/`write*`). */
export const loadCheckpoint = readCheckpoint;

/**
 * Checks that the checkpoint's model spec builds a model whose every tensor the file holds,
 * shape for shape. The trial build runs on a throwaway heap capped near the file's tensor
 * bytes, so a config describing a far bigger model (a corrupt or hostile `width`) fails at
 * once instead of allocating gigabytes; any fault is a CheckpointError naming the file.
 */
export async function checkCheckpointModel(ck: Checkpoint, source: string): Promise<void> {
  let bytes = 0;
  for (const t of ck.tensors.values()) bytes += t.data.byteLength;
  const heap = new Heap({ maximumBytes: Math.min(2 * bytes + (32 << 20), 2 ** 32 - 65536) });
  const ctx = await createContext("ref", { heap });
  let model: Model | undefined;
  try {
    model = buildModel(ctx, ck.spec, new Random(0));
    const what = `the ${ck.spec.name} model`;
    for (const [name, t] of model.namedTensors()) {
      const s = ck.tensors.get(name);
      if (!s) throw new CheckpointError(source, `tensor '${name}' of ${what} is missing`);
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        throw new CheckpointError(
          source,
          `tensor '${name}' has shape [${s.shape}], ${what} it describes has [${t.shape}]`,
        );
      }
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(
      source,
      `its model (${ck.spec.name}) cannot be built from the tensors it holds: ${(e as Error).message}`,
    );
  } finally {
    model?.dispose();
  }
}

/** Copies tensors out of the heap into a name -> {shape, data} map. */
export function snapshotTensors(tensors: Map<string, Tensor>): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) out.set(name, { shape: [...t.shape], data: t.toArray() });
  return out;
}

/**
 * Writes stored tensors into live ones (same names and shapes). Every live tensor must be
 * present; `source` names the checkpoint in errors.
 */
export function restoreTensors(
  live: Map<string, Tensor>,
  stored: Map<string, NamedTensor>,
  source: string,
): void {
  for (const [name, t] of live) {
    const s = stored.get(name);
    if (!s) throw new Error(`${source}: tensor '${name}' is missing`);
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${source}: tensor '${name}' has shape [${s.shape}], the model expects [${t.shape}]`);
    }
    t.data.set(s.data);
  }
}

/** The checkpoint's model with its weights and BN statistics, on `ctx`. */
export function modelOfCheckpoint(ctx: Context, ck: Checkpoint, source = "checkpoint"): Model {
  const model = buildModel(ctx, ck.spec, new Random(0), { source, origin: ck.model });
  try {
    loadIntoModel(model, ck, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Loads a checkpoint's weights and BN statistics into a model built from the same spec. */
export function loadIntoModel(model: Model, ck: Checkpoint, source = "checkpoint"): void {
  restoreTensors(model.namedTensors(), ck.tensors, source);
}
