/**
 * EngineWorker in Node (a worker_thread): the synchronous engine's scores, predicts
 * answered in call order, transferred buffers, errors that keep their class and message,
 * dispose, threads inside the worker, and a process that exits while a worker idles.
 * The worker runs dist/engine/worker-entry.js (`npm run build`), as from the package.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL, ROOT } from "../../src/bench/chromium.js";
import { readIdx } from "../../src/data/idx.js";
import { mnistDataDir } from "../../src/data/mnist.js";
import { Engine, EngineWorker, ModelFormatError, OptionsError } from "../../src/engine/index.js";

const workerUrl = path.join(ROOT, "dist/engine/worker-entry.js");

describe("EngineWorker (Node worker_thread)", () => {
  let bytes: Uint8Array;
  let images: Uint8Array;
  let sync: Engine;
  let worker: EngineWorker;

  beforeAll(async () => {
    if (!existsSync(workerUrl)) throw new Error(`${workerUrl} is missing: run npm run build`);
    bytes = new Uint8Array(await readFile(DEMO_MODEL));
    images = (readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array).slice(
      0,
      300 * 784,
    );
    sync = await Engine.load(bytes);
    worker = await EngineWorker.load(bytes, { workerUrl });
  });

  afterAll(async () => {
    sync?.dispose();
    await worker?.dispose();
  });

  it("gives the synchronous engine's scores and describes its engine", async () => {
    const p = await worker.predict(images);
    const q = sync.predict(images);
    expect(p.batch).toBe(300);
    expect(p.numClasses).toBe(10);
    expect(p.scores).toEqual(q.scores);
    expect(p.classes).toEqual(q.classes);
    expect(worker.classNames).toEqual(sync.classNames);
    expect(worker.inputShape).toEqual([28, 28, 1]);
    expect(worker.imageSize).toBe(784);
    expect(worker.modelName).toBe(sync.model.name);
    expect(worker.backend).toBe(sync.backend.name);
    expect(worker.threads).toBe(1);
    // Float32 and plain-array inputs too (the engine maps them the same way).
    const floats = Float32Array.from(images.subarray(0, 2 * 784));
    expect((await worker.predict(floats)).scores).toEqual(sync.predict(floats).scores);
    const plain = Array.from(images.subarray(0, 784));
    expect((await worker.predict(plain)).scores).toEqual(sync.predict(plain).scores);
  });

  it("answers concurrent predicts in the order they were made", async () => {
    const sizes = [200, 1, 64, 7, 128, 3];
    let start = 0;
    const inputs = sizes.map((n) => {
      const x = images.subarray(start * 784, (start + n) * 784);
      start = (start + n) % 100;
      return x;
    });
    const order: number[] = [];
    const results = await Promise.all(
      inputs.map((x, i) =>
        worker.predict(x).then((p) => {
          order.push(i);
          return p;
        }),
      ),
    );
    expect(order).toEqual(sizes.map((_, i) => i));
    for (const [i, x] of inputs.entries()) expect(results[i]!.scores).toEqual(sync.predict(x).scores);
  });

  it("copies inputs by default and hands their buffer over with { transfer: true }", async () => {
    const kept = images.slice(0, 4 * 784);
    await worker.predict(kept);
    expect(kept.byteLength).toBe(4 * 784);
    const given = images.slice(0, 4 * 784);
    const p = await worker.predict(given, { transfer: true });
    expect(given.byteLength).toBe(0);
    expect(p.scores).toEqual(sync.predict(images.subarray(0, 4 * 784)).scores);
    // The model bytes likewise.
    const model = bytes.slice();
    const other = await EngineWorker.load(model, { workerUrl, transfer: true });
    expect(model.byteLength).toBe(0);
    await other.dispose();
  });

  it("rejects with the worker's error (class, name, message) and stays usable", async () => {
    const bad = images.subarray(0, 785);
    const expected = (() => {
      try {
        sync.predict(bad);
      } catch (error) {
        return error as Error;
      }
    })()!;
    const error = (await worker.predict(bad).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RangeError);
    expect(error.name).toBe("RangeError");
    expect(error.message).toBe(expected.message);
    const nan = await worker.predict([Number.NaN, ...images.subarray(1, 784)]).catch((e: Error) => e);
    expect((nan as Error).message).toMatch(/image 0 holds NaN at value 0/);
    expect((await worker.predict(images.subarray(0, 784))).classes).toEqual(
      sync.predict(images.subarray(0, 784)).classes,
    );

    const truncated = bytes.subarray(0, 100);
    const formatError = (await EngineWorker.load(truncated, { workerUrl }).catch((e: unknown) => e)) as Error;
    expect(formatError).toBeInstanceOf(ModelFormatError);
    await expect(Engine.load(truncated)).rejects.toThrow(formatError.message);
    await expect(EngineWorker.load(bytes, { workerUrl, maxBatch: 0 })).rejects.toThrow(OptionsError);
    await expect(EngineWorker.load(bytes, { workerUrl, backend: "nope" as "wasm" })).rejects.toThrow(
      /Engine\.load: backend must be one of .*, got "nope"/,
    );
  });

  it("rejects pending and later predicts once disposed", async () => {
    const w = await EngineWorker.load(bytes, { workerUrl });
    const pending = expect(w.predict(images)).rejects.toMatchObject({ name: "DisposedError" });
    await w.dispose();
    await pending;
    await expect(w.predict(images.subarray(0, 784))).rejects.toThrow(/disposed/);
    await w.dispose(); // twice is fine
  });

  it("runs a kernel thread pool inside the worker, with the same scores", async () => {
    const w = await EngineWorker.load(bytes, { workerUrl, threads: 2 });
    try {
      expect(w.threads).toBe(2);
      expect((await w.predict(images)).scores).toEqual(sync.predict(images).scores);
    } finally {
      await w.dispose();
    }
  });

  it("names the missing worker script when run from the TypeScript sources without workerUrl", async () => {
    await expect(EngineWorker.load(bytes)).rejects.toThrow(/worker-entry\.js.*npm run build/);
    await expect(EngineWorker.load(bytes, { workerUrl: "/nowhere/worker.js" })).rejects.toThrow(
      /no worker script at file:\/\/\/nowhere\/worker\.js/,
    );
  });

  it("lets the process exit while a worker idles (from dist/, with the default worker script)", () => {
    const script = `
      import { readFileSync } from "node:fs";
      import { EngineWorker } from ${JSON.stringify(pathToFileURL(path.join(ROOT, "dist/engine/index.js")).href)};
      const w = await EngineWorker.load(new Uint8Array(readFileSync(${JSON.stringify(DEMO_MODEL)})));
      const p = await w.predict(new Uint8Array(784));
      console.log(p.classes.length, w.backend);
    `;
    const dir = mkdtempSync(path.join(os.tmpdir(), "onebit-worker-exit-"));
    const file = path.join(dir, "idle.mjs");
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 20_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toMatch(/^1 wasm-(simd|scalar)$/);
    expect(r.status).toBe(0);
  });
});
