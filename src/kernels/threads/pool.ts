/**
 * A pool of kernel workers over one shared WebAssembly.Memory. Each worker instantiates
 * the same kernel module on that memory; `run` hands each worker a list of kernel calls
 * through its control slot (protocol.ts), runs the first list on the calling thread, and
 * returns when every list is done. Work is split by the callers (kernel wrappers), who
 * choose partitions that give results independent of the thread count.
 *
 *     const pool = await KernelPool.create(module, 2);            // this thread + 1 worker
 *     pool.run([[["float_fill", 1024, 0, ptrA]], [["float_fill", 1024, 0, ptrB]]]);
 *     await pool.close();
 */
import type { KernelModule } from "../wasm/module.js";
import { isSharedMemory } from "../wasm/module.js";
import { CALLS_BYTE, EXIT, layout, MAX_CALL_VALUES, SLOT_BYTES, Slot } from "./protocol.js";
import { spawnWorker, type WorkerHandle } from "./spawn.js";

/** A kernel call: the export name, then its arguments. */
export type Call = readonly [name: string, ...args: number[]];

/** Polls of the done flag before the caller sleeps; polls of the job number before a worker sleeps. */
const CALLER_SPIN = 20000;
const WORKER_SPIN = 20000;

export class KernelPool {
  /** Threads that run kernels: the calling thread plus the workers. */
  readonly threads: number;
  private readonly module: KernelModule;
  private readonly workers: WorkerHandle[];
  private readonly slots: number[];
  /** Views of each slot, made once: a shared buffer is never detached by growth. */
  private readonly ctl: Int32Array[];
  private readonly values: Float64Array[];
  private readonly index = new Map<string, number>();
  private readonly errors: (string | undefined)[];
  private readonly seq: number[];
  private canWait = true;
  private closed = false;

  private constructor(module: KernelModule, workers: WorkerHandle[], slots: number[], names: string[]) {
    this.module = module;
    this.workers = workers;
    this.slots = slots;
    const buffer = module.heap.memory.buffer;
    this.ctl = slots.map((s) => new Int32Array(buffer, s, CALLS_BYTE >> 2));
    this.values = slots.map((s) => new Float64Array(buffer, s + CALLS_BYTE, MAX_CALL_VALUES));
    this.threads = workers.length + 1;
    for (const [i, n] of names.entries()) this.index.set(n, i);
    this.errors = workers.map(() => undefined);
    this.seq = workers.map(() => 0);
  }

  /**
   * Starts `threads - 1` workers on the module's shared memory (the caller is the other
   * thread). The module must be a shared-memory build (loadKernelModule with a shared heap).
   */
  static async create(module: KernelModule, threads: number): Promise<KernelPool> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`KernelPool: threads must be a positive integer, got ${threads}`);
    }
    if (!isSharedMemory(module.heap.memory)) {
      throw new Error("KernelPool: the kernel module's memory is not shared; load it with a shared heap");
    }
    const names = Object.keys(module.exports)
      .filter((n) => typeof module.exports[n] === "function")
      .sort();
    const count = threads - 1;
    const block = count > 0 ? module.heap.alloc(count * SLOT_BYTES, true) : 0;
    const slots = Array.from({ length: count }, (_, i) => block + i * SLOT_BYTES);
    const workers = await Promise.all(slots.map(() => spawnWorker()));
    const pool = new KernelPool(module, workers, slots, names);
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            let started = false;
            w.onMessage((m) => {
              if (m.type === "ready") {
                started = true;
                resolve();
              } else pool.errors[i] = m.message;
            });
            w.onError((err) => {
              if (!started) reject(err);
              else if (!pool.closed) pool.errors[i] = err.message;
            });
            w.post({
              module: module.module,
              memory: module.heap.memory,
              names,
              slot: slots[i]!,
              layout: layout(),
              spin: WORKER_SPIN,
            });
          }),
      ),
    ).catch(async (err) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    });
    return pool;
  }

  /**
   * Runs parts[0] here and parts[i] on worker i - 1 (each part a list of calls run in
   * order), and returns when all are done. At most `threads` parts.
   */
  run(parts: readonly (readonly Call[])[]): void {
    if (this.closed) throw new Error("KernelPool.run: the pool is closed");
    if (parts.length > this.threads) {
      throw new RangeError(`KernelPool.run: ${parts.length} parts for ${this.threads} threads`);
    }
    for (let w = 0; w + 1 < parts.length; w++) {
      const values = this.values[w]!;
      let p = 0;
      for (const [name, ...args] of parts[w + 1]!) {
        if (p + 2 + args.length > MAX_CALL_VALUES) {
          throw new RangeError(
            `KernelPool.run: too many call arguments for one worker (${MAX_CALL_VALUES} values)`,
          );
        }
        values[p++] = this.fnIndex(name);
        values[p++] = args.length;
        for (const a of args) values[p++] = a;
      }
      const ctl = this.ctl[w]!;
      Atomics.store(ctl, Slot.COUNT, p);
      this.seq[w]! += 1;
      Atomics.store(ctl, Slot.SEQ, this.seq[w]!);
      Atomics.notify(ctl, Slot.SEQ);
    }
    let failure: unknown;
    try {
      for (const [name, ...args] of parts[0] ?? []) this.module.exports[name]!(...args);
    } catch (err) {
      failure = err;
    }
    for (let w = 0; w + 1 < parts.length; w++) this.join(w);
    if (failure) throw failure;
  }

  private fnIndex(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`KernelPool: the kernel module has no export '${name}'`);
    return i;
  }

  /** Waits for worker w's current job; throws if it failed. */
  private join(w: number): void {
    const ctl = this.ctl[w]!;
    const want = this.seq[w]!;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, Slot.DONE);
      if (done === want) break;
      if (spins++ < CALLER_SPIN || !this.canWait) continue;
      try {
        Atomics.wait(ctl, Slot.DONE, done, 1000);
      } catch {
        // A browser's main thread may not block: poll instead.
        this.canWait = false;
      }
    }
    if (Atomics.load(ctl, Slot.STATUS) !== 0) {
      const why = this.errors[w] ?? "see the worker's error output";
      throw new Error(`onebit: a kernel call failed in worker ${w + 1}: ${why}`);
    }
  }

  /** Stops the workers and frees the control block. The pool is unusable afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let w = 0; w < this.workers.length; w++) {
      const ctl = this.ctl[w]!;
      this.values[w]!.set([EXIT, 0]);
      Atomics.store(ctl, Slot.COUNT, 2);
      Atomics.store(ctl, Slot.SEQ, ++this.seq[w]!);
      Atomics.notify(ctl, Slot.SEQ);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    if (this.slots.length > 0) this.module.heap.free(this.slots[0]!);
  }
}
