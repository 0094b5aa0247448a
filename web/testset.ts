/**
 * The test-set panel: all MNIST test images through an engine that runs off the page's
 * thread (an EngineWorker), in chunks that are all queued at once: the worker never waits
 * for the page, and each chunk's answer (they come in order) moves the progress bar while
 * the page stays free to paint and take input. images/s counts the worker's busy time
 * (from a chunk's start, or the previous answer, to its answer), the wall time is shown
 * beside it.
 */
import type { Prediction } from "../src/engine/index.js";
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

/** What the panel needs of an engine: EngineWorker's shape. */
export interface AsyncEngine {
  readonly imageSize: number;
  predict(images: Uint8Array): Promise<Prediction>;
}

const CHUNK = 640;

export async function runTestSet(
  engine: AsyncEngine,
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
  let last = wall0;
  const chunks: Promise<void>[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    const posted = performance.now();
    chunks.push(
      engine.predict(images.data.subarray(start * size, (start + n) * size)).then((prediction) => {
        const now = performance.now();
        engineMs += now - Math.max(posted, last);
        last = now;
        classes.set(prediction.classes, start);
        for (let i = 0; i < n; i++) if (prediction.classes[i] === labels.data[start + i]) correct++;
        onProgress(start + n, correct);
      }),
    );
  }
  await Promise.all(chunks);
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
