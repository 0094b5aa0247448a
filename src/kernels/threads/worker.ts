/**
 * Entry point of a kernel worker (a Node worker_thread or a browser module Worker): wait
 * for the init message, then run workerMain. Resolved by the pool as
 * `new URL("./worker.js", import.meta.url)`, so it works from dist/ and in a Vite bundle.
 */
import type { WorkerInit, WorkerMessage } from "./protocol.js";
import { workerMain } from "./workerMain.js";

interface BrowserWorkerScope {
  postMessage(message: unknown): void;
  addEventListener(
    type: "message",
    listener: (event: { data: WorkerInit }) => void,
    options?: { once: boolean },
  ): void;
}

const scope = globalThis as unknown as Partial<BrowserWorkerScope> & { WorkerGlobalScope?: unknown };

if (scope.WorkerGlobalScope !== undefined && typeof scope.addEventListener === "function") {
  const self = scope as BrowserWorkerScope;
  self.addEventListener(
    "message",
    (event) => workerMain(event.data, (m: WorkerMessage) => self.postMessage(m)),
    {
      once: true,
    },
  );
} else {
  // No top-level await: bundlers emit workers as classic scripts by default.
  void import(/* @vite-ignore */ "node:worker_threads").then(({ parentPort }) => {
    parentPort?.once("message", (init: WorkerInit) => workerMain(init, (m) => parentPort.postMessage(m)));
  });
}
