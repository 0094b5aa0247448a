/**
 * Shared by the converter and verify tests: random models with random batch-norm
 * statistics (so thresholds are spread and some flip), random images, and the
 * convert -> encode -> decode -> engine -> verify pipeline.
 */

import { decodeModel, encodeModel } from "../../src/engine/format.js";
import type { EngineModel } from "../../src/engine/model.js";
import { Engine } from "../../src/engine/runtime.js";
import { convertModel } from "../../src/export/convert.js";
import { type VerifyReport, verifyEngine } from "../../src/export/verify.js";
import type { BackendKind } from "../../src/kernels/index.js";
import type { Model } from "../../src/nn/model.js";
import { Random } from "../../src/util/random.js";

export const PRE = { scale: 1 / 127.5, offset: -1 };

/** Random BN statistics and affine parameters; about a third of gammas negative. */
export function randomizeBatchNorms(model: Model, seed: number): void {
  const rng = new Random(seed);
  for (const [name, t] of model.namedTensors()) {
    const d = t.data;
    if (name.endsWith(".runningMean")) for (let i = 0; i < d.length; i++) d[i] = rng.normal() * 3;
    else if (name.endsWith(".runningVar")) for (let i = 0; i < d.length; i++) d[i] = 0.5 + rng.next() * 20;
    else if (name.endsWith(".gamma"))
      for (let i = 0; i < d.length; i++) d[i] = (rng.next() < 0.33 ? -1 : 1) * (0.2 + rng.next());
    else if (name.endsWith(".beta")) for (let i = 0; i < d.length; i++) d[i] = rng.normal() * 0.5;
    else if (name.endsWith(".bias")) for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  }
}

export function randomImages(count: number, size: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: count * size }, () => rng.int(256));
}

export function toEngineModel(model: Model, classes = 10): EngineModel {
  const classNames = Array.from({ length: classes }, (_, i) => String(i));
  return decodeModel(encodeModel(convertModel(model, { classNames, preprocessing: PRE })));
}

export async function convertAndVerify(
  model: Model,
  images: Uint8Array,
  backend: BackendKind = "wasm",
): Promise<{ report: VerifyReport; engineModel: EngineModel }> {
  const engineModel = toEngineModel(model);
  const engine = await Engine.load(engineModel, { backend, maxBatch: 16 });
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const report = verifyEngine(model, engine, {
    images,
    count: images.length / size,
    preprocessing: PRE,
    batchSize: 16,
  });
  engine.dispose();
  return { report, engineModel };
}
