/**
 * A pool of kernel workers over one shared WebAssembly.Memory. Each worker instantiates
 * the same kernel module on that memory. `run` publishes a job (chunks of kernel calls)
 * in the control block (protocol.ts); the calling thread and the workers claim chunks
 * until none are left, and `run` returns when all are done. The callers (kernel wrappers)
 * choose chunks whose results do not depend on which thread runs them.
 *
 *     const pool = await KernelPool.create(module, 2, 0);           // this thread + 1 worker
 *     pool.run([[["float_fill", 1024, 0, ptrA]], [["float_fill", 1024, 0, ptrB]]]);
 *     await pool.close();
 */
import type { Call, KernelName } from "../wasm/calls.js";
import { KERNEL_ARITY } from "../wasm/exports.js";
import type { KernelModule } from "../wasm/module.js";
import { isSharedMemory } from "../wasm/module.js";
import {
  CONTROL_BYTES,
  Ctl,
  layout,
  MAX_CHUNKS,
  MAX_VALUES,
  MESSAGE_BYTE,
  MESSAGE_CHARS,
  SCRATCH,
  VALUES_BYTE,
} from "./protocol.js";
import { spawnWorker, type WorkerHandle } from "./spawn.js";

export type { Call } from "../wasm/calls.js";
export { SCRATCH } from "./protocol.js";

/**
 * Polls before the caller sleeps on unfinished chunks, and the time an idle worker polls
 * before it sleeps (ONEBIT_SPIN_US overrides it in Node). A sleeping worker costs a wake-up
 * per job; a polling one takes CPU from the thread it waits for when the machine is busy:
 * 0.2 ms covers the gaps between the jobs of a training step and little else.
 */
const CALLER_SPIN = 5000;
const WORKER_SPIN_MICROS = Number(globalThis.process?.env?.ONEBIT_SPIN_US ?? 200);
/** Tickets restart from 0 past this, so the int32 counters never wrap. */
const TICKET_RESET = 1 << 30;

export class KernelPool {
  /** Threads that run kernels: the calling thread plus the workers. */
  readonly threads: number;
  /** The calling thread's scratch block (each worker has its own, of the same size). */
  readonly scratch: number;
  readonly scratchBytes: number;
  private readonly module: KernelModule;
  private readonly workers: WorkerHandle[];
  private readonly control: number;
  private readonly blocks: number[];
  private readonly ctl: Int32Array;
  private readonly values: Float64Array;
  private readonly index = new Map<string, number>();
  private readonly fns: ((...args: number[]) => number)[];
  private lastError: string | undefined;
  private canWait = true;
  private closed = false;

  private constructor(
    module: KernelModule,
    workers: WorkerHandle[],
    control: number,
    scratch: number[],
    scratchBytes: number,
    names: KernelName[],
  ) {
    this.module = module;
    this.workers = workers;
    this.control = control;
    this.blocks = scratch;
    this.scratch = scratch[0]!;
    this.scratchBytes = scratchBytes;
    this.threads = workers.length + 1;
    const buffer = module.heap.memory.buffer;
    this.ctl = new Int32Array(buffer, control, Ctl.OFFSETS + MAX_CHUNKS);
    this.values = new Float64Array(buffer, control + VALUES_BYTE, MAX_VALUES);
    for (const [i, n] of names.entries()) this.index.set(n, i);
    this.fns = names.map((n) => module.exports[n] as (...args: number[]) => number);
  }

  /**
   * Starts `threads - 1` workers on the module's shared memory (the caller is the other
   * thread), each with a scratch block of `scratchBytes`. The module must be a
   * shared-memory build (loadKernelModule with a shared heap).
   */
  static async create(module: KernelModule, threads: number, scratchBytes: number): Promise<KernelPool> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`KernelPool: threads must be a positive integer, got ${threads}`);
    }
    if (!isSharedMemory(module.heap.memory)) {
      throw new Error("KernelPool: the kernel module's memory is not shared; load it with a shared heap");
    }
    const heap = module.heap;
    // The declared exports (loadKernelModule checked that the module has them), by index.
    const names = (Object.keys(KERNEL_ARITY) as KernelName[]).sort();
    const control = heap.alloc(CONTROL_BYTES, true);
    const bytes = Math.max(scratchBytes, 64);
    const scratch = Array.from({ length: threads }, () => heap.alloc(bytes));
    const workers = await Promise.all(Array.from({ length: threads - 1 }, () => spawnWorker()));
    const pool = new KernelPool(module, workers, control, scratch, bytes, names);
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            let started = false;
            w.onMessage((m) => {
              if (m.type === "ready") {
                started = true;
                resolve();
              } else pool.lastError = m.message;
            });
            w.onError((err) => {
              if (!started) reject(err);
              else if (!pool.closed) pool.lastError = err.message;
            });
            w.post({
              module: module.module,
              memory: heap.memory,
              names,
              control,
              scratch: scratch[i + 1]!,
              layout: layout(),
              spinMicros: WORKER_SPIN_MICROS,
            });
          }),
      ),
    ).catch(async (err) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    });
    // A pool nobody closed must not keep the process alive.
    for (const w of workers) w.unref();
    return pool;
  }

  /**
   * Runs every chunk (a list of calls, run in order) on whichever thread claims it,
   * this one included, and returns when all are done.
   */
  run(chunks: readonly (readonly Call[])[]): void {
    if (this.closed) throw new Error("KernelPool.run: the pool is closed");
    if (chunks.length > MAX_CHUNKS)
      throw new RangeError(`KernelPool.run: ${chunks.length} chunks (at most ${MAX_CHUNKS})`);
    const { ctl, values } = this;
    const seq = Atomics.load(ctl, Ctl.SEQ);
    Atomics.store(ctl, Ctl.SEQ, seq + 1); // odd: being written
    let p = 0;
    for (const [i, chunk] of chunks.entries()) {
      ctl[Ctl.OFFSETS + i] = p;
      values[p++] = chunk.length;
      for (const [name, ...args] of chunk) {
        if (p + 2 + args.length > MAX_VALUES) {
          throw new RangeError(`KernelPool.run: the job's calls exceed ${MAX_VALUES} values`);
        }
        // Typed calls have the declared arity; this catches a call built around the types.
        if (args.length !== KERNEL_ARITY[name]) {
          throw new RangeError(
            `KernelPool.run: ${name} takes ${KERNEL_ARITY[name]} arguments, got ${args.length}`,
          );
        }
        values[p++] = this.fnIndex(name);
        values[p++] = args.length;
        for (const a of args) values[p++] = a;
      }
    }
    let base = Atomics.load(ctl, Ctl.NEXT);
    if (base > TICKET_RESET) {
      base = 0;
      Atomics.store(ctl, Ctl.FINISHED, 0);
    }
    const limit = base + chunks.length;
    Atomics.store(ctl, Ctl.BASE, base);
    Atomics.store(ctl, Ctl.LIMIT, limit);
    Atomics.store(ctl, Ctl.NEXT, base);
    Atomics.store(ctl, Ctl.SEQ, seq + 2); // even: published
    Atomics.notify(ctl, Ctl.SEQ);
    let failure: unknown;
    for (;;) {
      const ticket = Atomics.load(ctl, Ctl.NEXT);
      if (ticket >= limit) break;
      if (Atomics.compareExchange(ctl, Ctl.NEXT, ticket, ticket + 1) !== ticket) continue;
      try {
        for (const [name, ...args] of chunks[ticket - base]!) {
          this.fns[this.fnIndex(name)]!(...args.map((a) => (a === SCRATCH ? this.scratch : a)));
        }
      } catch (err) {
        failure ??= err;
      }
      Atomics.add(ctl, Ctl.FINISHED, 1);
    }
    this.join(limit);
    const failed = Atomics.exchange(ctl, Ctl.STATUS, 0) !== 0;
    if (failure) throw failure;
    if (failed) {
      const chars = new Uint16Array(
        this.module.heap.memory.buffer,
        this.control + MESSAGE_BYTE,
        MESSAGE_CHARS,
      );
      const message = String.fromCharCode(...chars.subarray(0, Atomics.load(ctl, Ctl.MESSAGE_LENGTH)));
      throw new Error(`onebit: a kernel call failed in a worker thread: ${message || this.lastError}`);
    }
  }

  private fnIndex(name: KernelName): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`KernelPool: the kernel module has no export '${name}'`);
    return i;
  }

  /** Waits until every chunk up to ticket `limit` is finished (some may run on workers). */
  private join(limit: number): void {
    const ctl = this.ctl;
    let spins = 0;
    for (;;) {
      const finished = Atomics.load(ctl, Ctl.FINISHED);
      if (finished >= limit) return;
      if (spins++ < CALLER_SPIN || !this.canWait) continue;
      try {
        Atomics.wait(ctl, Ctl.FINISHED, finished, 1000);
      } catch {
        // A browser's main thread may not block: poll instead.
        this.canWait = false;
      }
    }
  }

  /** Stops the workers and frees the control block and scratch. The pool is unusable afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const seq = Atomics.load(this.ctl, Ctl.SEQ);
    Atomics.store(this.ctl, Ctl.EXIT, 1);
    Atomics.store(this.ctl, Ctl.SEQ, seq + 2);
    Atomics.notify(this.ctl, Ctl.SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
    const heap = this.module.heap;
    heap.free(this.control);
    for (const b of this.blocks) heap.free(b);
  }
}
