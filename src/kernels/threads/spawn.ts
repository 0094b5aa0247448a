/**
 * Starts one kernel worker: a Node worker_thread or a browser module Worker, behind one
 * small interface. The worker script is `./worker.js` next to this module (dist/, or a
 * Vite bundle, which rewrites the `new Worker(new URL(...))` expression below). Running
 * from the TypeScript sources (tests, no build), Node has no worker.js to load, so it
 * evaluates workerMain's source text instead: the same code, in the same thread kind.
 */
import type { WorkerInit, WorkerMessage } from "./protocol.js";
import { workerMain } from "./workerMain.js";

export interface WorkerHandle {
  post(init: WorkerInit): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** A worker that failed to start or died. */
  onError(listener: (error: Error) => void): void;
  terminate(): Promise<void>;
  /**
   * Lets the process exit while the worker lives (Node). Called once the worker is ready:
   * before that, the pending start must keep the process alive.
   */
  unref(): void;
}

/** Worker threads exist here: Node, or a browser with Worker. */
export function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

/** Bare name (not a literal inside `new URL`) so that bundlers leave the Node branch alone. */
const NODE_WORKER_FILE = "./worker.js";

export async function spawnWorker(): Promise<WorkerHandle> {
  if (isNode()) return spawnNode();
  if (typeof Worker === "undefined") throw new Error("onebit: this runtime has no Worker");
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  return {
    post: (init) => w.postMessage(init),
    onMessage: (listener) => w.addEventListener("message", (e) => listener(e.data as WorkerMessage)),
    onError: (listener) =>
      w.addEventListener("error", (e) => listener(new Error(`onebit: kernel worker failed: ${e.message}`))),
    terminate: async () => w.terminate(),
    unref: () => {},
  };
}

async function spawnNode(): Promise<WorkerHandle> {
  const { Worker: NodeWorker } = await import(/* @vite-ignore */ "node:worker_threads");
  const { existsSync } = await import(/* @vite-ignore */ "node:fs");
  const file = new URL(NODE_WORKER_FILE, import.meta.url);
  const w =
    file.protocol === "file:" && existsSync(file)
      ? new NodeWorker(file)
      : new NodeWorker(
          `const { parentPort } = require("node:worker_threads");\n` +
            `parentPort.once("message", (init) => (${workerMain.toString()})(init, (m) => parentPort.postMessage(m)));`,
          { eval: true },
        );
  return {
    post: (init) => w.postMessage(init),
    onMessage: (listener) => void w.on("message", listener),
    onError: (listener) => {
      w.on("error", listener);
      w.on("exit", (code) => listener(new Error(`onebit: kernel worker exited (code ${code})`)));
    },
    unref: () => w.unref(),
    terminate: async () => void (await w.terminate()),
  };
}
