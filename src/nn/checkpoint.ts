/**
 * Checkpoint files of trainable models (format: ./checkpointFormat.ts), written atomically
 * (temporary file, then rename). `loadCheckpoint` is what the exporter reads: the model
 * config plus named float32 tensors ("layers.3.kernel", "layers.4.runningMean", ...).
 *
 *     const ck = await loadCheckpoint("runs/mnist/last.ckpt");
 *     ck.model.builder;                          // "bnn-cnn"
 *     ck.tensors.get("layers.0.kernel")?.shape;  // [32, 3, 3, 1]
 */
import { readFile } from "node:fs/promises";
import { Heap } from "../kernels/heap.js";
import { createContext } from "../tensor/index.js";
import type { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { Random } from "../util/random.js";
import { buildModel } from "./builders.js";
import {
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type NamedTensor,
} from "./checkpointFormat.js";
import type { Model } from "./model.js";

export type { Checkpoint, LayerRecord, ModelConfig, NamedTensor } from "./checkpointFormat.js";

export async function saveCheckpoint(file: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(ck));
}

export async function loadCheckpoint(file: string): Promise<Checkpoint> {
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

/**
 * The file's layer list must be the one its config builds: same types and configs (a
 * quantizer present or absent changes what the same tensors mean, so shapes alone do not
 * catch it; a config relying on a default that has since changed does).
 */
function checkLayerList(ck: Checkpoint, model: Model, source: string): void {
  const built = model.layers.map((l) => ({ type: l.type, config: l.config }));
  if (ck.layers.length !== built.length) {
    throw new CheckpointError(
      source,
      `it lists ${ck.layers.length} layers, its model (${ck.model.builder}) has ${built.length}`,
    );
  }
  ck.layers.forEach((stored, i) => {
    const want = JSON.stringify(built[i]);
    const have = JSON.stringify(stored);
    if (have !== want) {
      throw new CheckpointError(
        source,
        `layer ${i} is ${have} in the file, but its model config (${ck.model.builder} ` +
          `${JSON.stringify(ck.model.options)}) builds ${want}`,
      );
    }
  });
}

/**
 * Checks that the checkpoint's model config builds a model whose every tensor the file holds,
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
    model = buildModel(ctx, ck.model, new Random(0));
    for (const [name, t] of model.namedTensors()) {
      const s = ck.tensors.get(name);
      if (!s)
        throw new CheckpointError(source, `tensor '${name}' of the ${ck.model.builder} model is missing`);
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        throw new CheckpointError(
          source,
          `tensor '${name}' has shape [${s.shape}], the ${ck.model.builder} model it describes has [${t.shape}]`,
        );
      }
    }
    checkLayerList(ck, model, source);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const options = JSON.stringify(ck.model.options).slice(0, 120);
    throw new CheckpointError(
      source,
      `its model (${ck.model.builder} ${options}) cannot be built from the tensors it holds: ${(e as Error).message}`,
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

/** Loads a checkpoint's weights and BN statistics into a model built from the same config. */
export function loadIntoModel(model: Model, ck: Checkpoint, source = "checkpoint"): void {
  restoreTensors(model.namedTensors(), ck.tensors, source);
}
