/**
 * The file-level operations behind `onebit import` and `onebit export --format onnx`
 * (Node only): read, convert, write atomically, and optionally verify against
 * onnxruntime on a data set's test images.
 *
 *     const r = await importOnnxFile("bnn.onnx", "bnn.onebit", { inputRange: [-1, 1], verify: { dataset: "mnist" } });
 *     r.verify?.ok; // classes identical, scores within 1e-4 relative on every test image
 */
import { readFile } from "node:fs/promises";
import { DATASET_NAMES, type DatasetName, imageSize, loadDataset } from "../data/index.js";
import { decodeModel, encodeModel, MAGIC } from "../engine/format.js";
import type { EngineModel } from "../engine/model.js";
import { Engine } from "../engine/runtime.js";
import { convertCheckpoint } from "../export/checkpoint.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { exportOnnxWithProbes } from "./export-onnx.js";
import { type ImportOptions, type ImportResult, importOnnx, type OnnxInputLayout } from "./import.js";
import { type BinarizeProbe, type OnnxVerifyReport, verifyOnnx } from "./verify-onnx.js";

/** The data set an ONNX verification runs on, and how many of its test images. */
export interface VerifyChoice {
  dataset: string;
  dataDir?: string;
  /** Test images to compare (default: all). */
  limitTest?: number;
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`reading ${file} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Runs the ONNX bytes and the engine model on a data set's test images (see verifyOnnx). */
export async function verifyOnnxOnDataset(
  model: EngineModel,
  onnxBytes: Uint8Array,
  layout: OnnxInputLayout,
  choice: VerifyChoice,
  probes?: BinarizeProbe[],
): Promise<OnnxVerifyReport> {
  if (!DATASET_NAMES.includes(choice.dataset as DatasetName)) {
    throw new Error(`--dataset must be one of ${DATASET_NAMES.join(", ")} (got ${choice.dataset})`);
  }
  const data = await loadDataset(choice.dataset as DatasetName, {
    dataDir: choice.dataDir,
    limitTrain: 0,
    limitTest: choice.limitTest,
  });
  const test = data.test;
  const engine = await Engine.load(model);
  try {
    if (imageSize(test) !== engine.imageSize) {
      throw new Error(
        `the model takes [${engine.inputShape}] inputs, ${test.name} has ${test.height}x${test.width}x${test.channels} images`,
      );
    }
    return await verifyOnnx(engine, onnxBytes, test.images, test.count, layout, {
      labels: test.labels,
      probes,
    });
  } finally {
    engine.dispose();
  }
}

/** `onebit import`: ONNX file -> `.onebit` file, optionally verified. */
export async function importOnnxFile(
  file: string,
  out: string,
  options: Omit<ImportOptions, "file"> & { verify?: VerifyChoice } = {},
): Promise<ImportResult & { bytes: number; verify?: OnnxVerifyReport }> {
  const onnxBytes = await readBytes(file);
  const dataset = options.verify?.dataset;
  const result = importOnnx(onnxBytes, {
    ...options,
    file,
    metadata: { ...(dataset ? { dataset } : {}), ...(options.metadata ?? {}) },
  });
  const bytes = encodeModel(result.model);
  await writeFileAtomic(out, bytes);
  const verify = options.verify
    ? await verifyOnnxOnDataset(result.model, onnxBytes, result.input, options.verify, result.probes)
    : undefined;
  return { ...result, bytes: bytes.length, ...(verify ? { verify } : {}) };
}

/** The ONNX input layout of an exported model: raw NHWC values, preprocessing inside the graph. */
export function exportedInputLayout(model: EngineModel): OnnxInputLayout {
  const shape = model.layers[0]!.in.shape;
  return { name: "image", dims: [...shape], axes: shape.length === 3 ? [0, 1, 2] : [0], scale: 1, offset: 0 };
}

/** True when `bytes` start like a `.onebit` engine model (rather than a checkpoint). */
function isEngineModel(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * `onebit export CHECKPOINT --format onnx`: checkpoint (or an already exported `.onebit`
 * model) -> engine model -> ONNX file, optionally verified on the data set it names.
 */
export async function exportCheckpointOnnx(
  checkpoint: string,
  out: string,
  options: { dataset?: string; dataDir?: string; verify?: Omit<VerifyChoice, "dataset"> } = {},
): Promise<{ engineModel: EngineModel; bytes: number; verify?: OnnxVerifyReport }> {
  const input = await readBytes(checkpoint);
  let engineModel: EngineModel;
  let dataset = options.dataset;
  if (isEngineModel(input)) {
    engineModel = decodeModel(input, checkpoint);
    dataset ??= engineModel.metadata.dataset as string | undefined;
  } else {
    const exported = await convertCheckpoint(checkpoint, {
      dataset: options.dataset,
      dataDir: options.dataDir,
    });
    exported.model.dispose();
    engineModel = exported.engineModel;
    dataset = exported.data.name;
  }
  const { bytes: onnxBytes, probes } = exportOnnxWithProbes(engineModel);
  await writeFileAtomic(out, onnxBytes);
  if (options.verify && !dataset)
    throw new Error(`${checkpoint}: no data set recorded; pass --dataset for --verify`);
  const verify = options.verify
    ? await verifyOnnxOnDataset(
        engineModel,
        onnxBytes,
        exportedInputLayout(engineModel),
        { dataset: dataset!, dataDir: options.dataDir, ...options.verify },
        probes,
      )
    : undefined;
  return { engineModel, bytes: onnxBytes.length, ...(verify ? { verify } : {}) };
}
