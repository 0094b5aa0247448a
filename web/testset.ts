/**
 * The test-set panel: all MNIST test images through the engine in chunks, yielding to the
 * browser between chunks so the progress bar moves. images/s counts engine time only
 * (the predict calls), the wall time is shown beside it.
 */
import type { Engine } from "../src/engine/index.js";
import type { IdxU8 } from "./idx.js";

export interface TestSetResult {
  count: number;
  correct: number;
  accuracy: number;
  engineMs: number;
  wallMs: number;
  imagesPerSecond: number;
  classes: Int32Array;
}

const CHUNK = 640;

export async function runTestSet(
  engine: Engine,
  images: IdxU8,
  labels: IdxU8,
  onProgress: (done: number, correct: number) => void,
): Promise<TestSetResult> {
  const count = labels.dims[0]!;
  const size = engine.imageSize;
  if (images.dims[0] !== count || images.data.length !== count * size) {
    throw new Error(`test set: ${images.dims} images for ${count} labels of ${size} pixels`);
  }
  const classes = new Int32Array(count);
  let correct = 0;
  let engineMs = 0;
  const wall0 = performance.now();
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    const t0 = performance.now();
    const prediction = engine.predict(images.data.subarray(start * size, (start + n) * size));
    engineMs += performance.now() - t0;
    classes.set(prediction.classes, start);
    for (let i = 0; i < n; i++) if (prediction.classes[i] === labels.data[start + i]) correct++;
    onProgress(start + n, correct);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return {
    count,
    correct,
    accuracy: correct / count,
    engineMs,
    wallMs: performance.now() - wall0,
    imagesPerSecond: (1000 * count) / engineMs,
    classes,
  };
}
