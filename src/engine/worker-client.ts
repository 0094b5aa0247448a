/**
 * EngineWorker: the engine hosted in a worker (a module Web Worker in browsers, a
 * worker_thread in Node) behind promises, so the calling thread never blocks on a model,
 * a page keeps drawing frames while a large batch runs, and a kernel thread pool's waiting
 * happens in the worker, not in the page. Beside the synchronous Engine, same scores.
 *
 *     const worker = await EngineWorker.load(bytes, { threads: 4 });
 *     const { classes } = await worker.predict(images);   // images copied (or { transfer: true })
 *     await worker.dispose();
 *
 * Predicts run in the order they were called. An error in the worker rejects that call's
 * promise with the error's name and message (and class, for the engine's own errors); the
 * worker stays usable. Inputs and results cross in transferred buffers: a typed-array
 * input is copied once into a fresh buffer that is handed over, or, with
 * `{ transfer: true }`, its own buffer is handed over (and is detached here afterwards).
 */
import { DisposedError } from "../errors.js";
import type { EngineModel } from "./model.js";
import type { EngineOptions, Prediction } from "./runtime.js";
import type { HostEngineInfo, HostImages, HostReply, HostRequest } from "./worker-protocol.js";
import { reviveError } from "./worker-protocol.js";

/**
 * Options of `EngineWorker.load`: Engine.load's, plus the worker script and whether to transfer
 * the model bytes.
 */
export interface EngineWorkerOptions extends EngineOptions {
  /**
   * The worker script; default `worker-entry.js` next to this module (which bundlers such
   * as Vite follow). Needed only where that file is not served, or from the TypeScript
   * sources in Node (point it at dist/engine/worker-entry.js).
   */
  workerUrl?: string | URL;
  /** Hand the model bytes' buffer to the worker instead of copying it (it is detached here). */
  transfer?: boolean;
}

/** Options of `EngineWorker.predict`. */
export interface WorkerPredictOptions {
  /** Hand the images' own buffer to the worker instead of copying them (it is detached here). */
  transfer?: boolean;
}

type Images = Uint8Array | Uint8ClampedArray | Float32Array | ArrayLike<number>;

/** The one interface over a browser Worker and a Node worker_thread. */
interface WorkerPort {
  post(request: HostRequest, transfer: Transferable[]): void;
  onMessage(listener: (reply: HostReply) => void): void;
  /** The worker failed to start, threw outside a request, or died. */
  onError(listener: (error: Error) => void): void;
  /** Node: let the process exit while the worker idles (ref while requests are pending). */
  hold(held: boolean): void;
  terminate(): Promise<void>;
}

/** Bare name (not a literal inside `new URL`) so that bundlers leave the Node branch alone. */
const NODE_ENTRY = "./worker-entry.js";

function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

async function startWorker(workerUrl: string | URL | undefined): Promise<WorkerPort> {
  if (isNode()) return startNodeWorker(workerUrl);
  if (typeof Worker === "undefined") throw new Error("EngineWorker: this runtime has no Worker");
  // The literal form `new Worker(new URL("...", import.meta.url))` is what Vite bundles.
  const w = workerUrl
    ? new Worker(workerUrl, { type: "module" })
    : new Worker(new URL("./worker-entry.js", import.meta.url), { type: "module" });
  return {
    post: (request, transfer) => w.postMessage(request, transfer),
    onMessage: (listener) => w.addEventListener("message", (e) => listener(e.data as HostReply)),
    onError: (listener) => {
      w.addEventListener("error", (e) => {
        e.preventDefault();
        listener(new Error(`EngineWorker: the worker failed: ${e.message || "it did not start"}`));
      });
      w.addEventListener("messageerror", () =>
        listener(new Error("EngineWorker: a message from the worker could not be read")),
      );
    },
    hold: () => {},
    terminate: async () => w.terminate(),
  };
}

async function startNodeWorker(workerUrl: string | URL | undefined): Promise<WorkerPort> {
  const { Worker: NodeWorker } = await import(/* @vite-ignore */ "node:worker_threads");
  const { existsSync } = await import(/* @vite-ignore */ "node:fs");
  const { pathToFileURL } = await import(/* @vite-ignore */ "node:url");
  const url =
    workerUrl === undefined
      ? new URL(NODE_ENTRY, import.meta.url)
      : typeof workerUrl === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(workerUrl)
        ? pathToFileURL(workerUrl)
        : new URL(workerUrl);
  if (url.protocol !== "file:" || !existsSync(url)) {
    throw new Error(
      `EngineWorker: no worker script at ${url.href}` +
        (workerUrl === undefined
          ? " (running from the TypeScript sources: build with 'npm run build' and pass workerUrl: dist/engine/worker-entry.js)"
          : ""),
    );
  }
  const w = new NodeWorker(url);
  return {
    post: (request, transfer) => w.postMessage(request, transfer as ArrayBuffer[]),
    onMessage: (listener) => void w.on("message", listener),
    onError: (listener) => {
      w.on("error", (error) => listener(error instanceof Error ? error : new Error(String(error))));
      w.on("exit", (code) => listener(new Error(`EngineWorker: the worker exited (code ${code})`)));
    },
    hold: (held) => (held ? w.ref() : w.unref()),
    terminate: async () => void (await w.terminate()),
  };
}

interface Pending {
  resolve(reply: HostReply): void;
  reject(error: Error): void;
}

function disposedError(): Error {
  return new DisposedError("EngineWorker", "EngineWorker.predict");
}

/** The input as it crosses: a typed array in a buffer the worker may take, or a plain array (cloned). */
function outgoing(images: Images, transfer: boolean): { images: HostImages; transfer: ArrayBuffer[] } {
  if (ArrayBuffer.isView(images)) {
    const view = images as unknown as Uint8Array;
    if (transfer && view.buffer instanceof ArrayBuffer) return { images: view, transfer: [view.buffer] };
    // A compact copy: posting a view clones its whole buffer (all of a test set for a slice of it).
    const copy = view.slice();
    return { images: copy, transfer: [copy.buffer] };
  }
  return { images, transfer: [] };
}

/**
 * The engine in a Web Worker (a worker_thread in Node) behind promises: `await
 * EngineWorker.load(bytes)`, `await worker.predict(pixels)`; the calling thread stays free
 * while the model runs. Same scores as `Engine`.
 */
export class EngineWorker {
  /** The model's name. */
  readonly modelName: string;
  readonly classNames: readonly string[];
  /** Per-image input shape [h, w, c] (or [n]). */
  readonly inputShape: readonly number[];
  /** Values per image. */
  readonly imageSize: number;
  readonly maxBatch: number;
  /** The kernels the worker's engine runs ("wasm-relaxed", "wasm-simd", "wasm-scalar" or "ref"). */
  readonly backend: string;
  /** Kernel threads in the worker (the worker's own thread included). */
  readonly threads: number;
  /** Why fewer threads than requested run, if so. */
  readonly threadNote: string | undefined;
  private readonly port: WorkerPort;
  private readonly pending: Map<number, Pending>;
  private nextId: number;
  private failure: Error | undefined;

  private constructor(port: WorkerPort, pending: Map<number, Pending>, nextId: number, info: HostEngineInfo) {
    this.port = port;
    this.pending = pending;
    this.nextId = nextId;
    this.modelName = info.modelName;
    this.classNames = info.classNames;
    this.inputShape = info.inputShape;
    this.imageSize = info.imageSize;
    this.maxBatch = info.maxBatch;
    this.backend = info.backend;
    this.threads = info.threads;
    this.threadNote = info.threadNote;
  }

  /**
   * Starts a worker and loads the model there: `.onebit` bytes (copied, or handed over with
   * `transfer`) or an EngineModel (cloned). Rejects as Engine.load would, or when the
   * worker cannot start.
   */
  static async load(
    source: Uint8Array | EngineModel,
    options: EngineWorkerOptions = {},
  ): Promise<EngineWorker> {
    const { workerUrl, transfer, wasmUrl, ...engineOptions } = options;
    const port = await startWorker(workerUrl);
    const pending = new Map<number, Pending>();
    let self: EngineWorker | undefined;
    const fail = (error: Error) => {
      if (self) self.failure ??= error;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    };
    port.onMessage((reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) port.hold(false);
      if (reply.type === "error") p.reject(reviveError(reply.error));
      else p.resolve(reply);
    });
    port.onError(fail);
    let bytes = source;
    const list: ArrayBuffer[] = [];
    if (source instanceof Uint8Array) {
      bytes = transfer && source.buffer instanceof ArrayBuffer ? source : source.slice();
      if ((bytes as Uint8Array).buffer instanceof ArrayBuffer)
        list.push((bytes as Uint8Array).buffer as ArrayBuffer);
    }
    try {
      const reply = await new Promise<HostReply>((resolve, reject) => {
        pending.set(0, { resolve, reject });
        port.post(
          {
            id: 0,
            type: "load",
            source: bytes,
            options: { ...engineOptions, wasmUrl: wasmUrl === undefined ? undefined : String(wasmUrl) },
          },
          list,
        );
      });
      if (reply.type !== "loaded") throw new Error(`EngineWorker: unexpected reply '${reply.type}' to load`);
      self = new EngineWorker(port, pending, 1, reply.info);
      return self;
    } catch (error) {
      await port.terminate();
      throw error;
    }
  }

  /**
   * Class scores and argmax for one image or a batch of raw NHWC images, as Engine.predict
   * gives them, computed in the worker. Calls are answered in the order they were made.
   */
  predict(images: Images, options: WorkerPredictOptions = {}): Promise<Prediction> {
    if (this.failure) return Promise.reject(this.failure);
    let message: ReturnType<typeof outgoing>;
    try {
      message = outgoing(images, options.transfer ?? false);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.nextId++;
    return new Promise<HostReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.hold(true);
      this.port.post({ id, type: "predict", images: message.images }, message.transfer);
    }).then((reply) => {
      if (reply.type !== "prediction")
        throw new Error(`EngineWorker: unexpected reply '${reply.type}' to predict`);
      const { scores, classes, batch, numClasses } = reply;
      return { scores, classes, batch, numClasses };
    });
  }

  /**
   * Stops the worker (and its engine, kernels and threads). Predictions still pending
   * reject with a DisposedError, as does every later call.
   */
  async dispose(): Promise<void> {
    if (this.failure?.name === "DisposedError") return;
    const error = disposedError();
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    await this.port.terminate();
  }
}
