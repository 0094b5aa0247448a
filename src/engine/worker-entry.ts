/**
 * Entry point of the engine worker (a browser module Worker or a Node worker_thread):
 * answers EngineWorker's requests with an engine of its own (worker-host.ts). Started by
 * worker-client.ts as `new URL("./worker-entry.js", import.meta.url)`, so it works from
 * dist/, from a Vite build and under Vite's dev server.
 */

import { engineHost } from "./worker-host.js";
import type { HostRequest } from "./worker-protocol.js";

interface BrowserWorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: { data: HostRequest }) => void): void;
}

const scope = globalThis as unknown as Partial<BrowserWorkerScope> & { WorkerGlobalScope?: unknown };

if (scope.WorkerGlobalScope !== undefined && typeof scope.addEventListener === "function") {
  const self = scope as BrowserWorkerScope;
  // Listening from the first evaluation: a message that arrives before a listener is lost.
  const serve = engineHost((reply, transfer) => self.postMessage(reply, transfer));
  self.addEventListener("message", (event) => serve(event.data));
} else {
  // No top-level await: bundlers emit workers as classic scripts by default. A Node port
  // keeps the messages that arrive before its listener.
  void import(/* @vite-ignore */ "node:worker_threads").then(({ parentPort }) => {
    if (!parentPort) throw new Error("onebit: worker-entry.js runs only as a worker");
    const serve = engineHost((reply, transfer) => parentPort.postMessage(reply, transfer));
    parentPort.on("message", serve);
  });
}
