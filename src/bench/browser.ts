/**
 * `onebit bench browser`: images/s of the demo's MNIST bnn-cnn in Chromium (the built demo
 * page, its own engine on the page's test images) against the Node engine, same .onebit,
 * same first test images, batch 64 and 1, one thread each, in the same run. Node and
 * browser rounds alternate (two rounds each) so that load drift on a shared machine hits
 * both; each side reports the median of all its timed runs. Target: browser >= 0.8x Node.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { readIdx } from "../data/idx.js";
import { mnistDataDir } from "../data/mnist.js";
import { Engine } from "../engine/runtime.js";
import { DEMO_MODEL, openDemo } from "./chromium.js";
import type { DemoWindow } from "./demoApi.js";
import { type BenchOptions, environment, median, table, timeRuns } from "./util.js";

const BATCHES = [64, 1];
const ROUNDS = 2;

export interface BrowserResult {
  batch: number;
  node_images_per_s: number;
  chromium_images_per_s: number;
  /** chromium / node. */
  ratio: number;
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = Math.max(5, options.runs ?? 10);
  const images = readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array;
  const engine = await Engine.load(new Uint8Array(await readFile(DEMO_MODEL)), { maxBatch: 64 });
  const demo = await openDemo();
  try {
    const page = demo.page;
    const chromeBackend = await page.evaluate(() => (window as DemoWindow).onebitDemo!.backend);
    const userAgent = await page.evaluate(() => navigator.userAgent);
    const results: BrowserResult[] = [];
    for (const batch of BATCHES) {
      const input = images.subarray(0, batch * engine.imageSize);
      const nodeMs: number[] = [];
      const chromeMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        nodeMs.push(...(await timeRuns(() => engine.predict(input), { runs, warmup: 3, minMs: 20 })));
        chromeMs.push(
          ...(await page.evaluate(
            ([b, r]) => (window as DemoWindow).onebitDemo!.bench(b!, r!),
            [batch, runs],
          )),
        );
      }
      const node = (1000 * batch) / median(nodeMs);
      const chromium = (1000 * batch) / median(chromeMs);
      results.push({
        batch,
        node_images_per_s: node,
        chromium_images_per_s: chromium,
        ratio: chromium / node,
      });
    }
    const out = {
      environment: { ...environment(), chromium: userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? userAgent },
      model: path.relative(process.cwd(), DEMO_MODEL),
      backend: { node: engine.backend.name, chromium: chromeBackend },
      runs: runs * ROUNDS,
      results,
    };
    if (options.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    process.stdout.write(
      `${JSON.stringify(out.environment)}\n` +
        `MNIST bnn-cnn (${out.model}): Chromium page (${chromeBackend}) vs Node (${engine.backend.name}), 1 thread; ` +
        `medians of ${out.runs} runs, rounds alternating\n` +
        `${table(
          ["batch", "node img/s", "chromium img/s", "chromium / node"],
          results.map((r) => [String(r.batch), r.node_images_per_s, r.chromium_images_per_s, r.ratio]),
        )}\n`,
    );
  } finally {
    engine.dispose();
    await demo.close();
  }
}
