/**
 * The body of a kernel worker: instantiate the kernel module on the shared memory, then
 * serve jobs from this worker's control slot forever (see protocol.ts). It blocks its
 * thread (Atomics.wait), which is what a worker is for.
 *
 * It must stay self-contained (no imports, no outer variables): when the worker file is
 * not available as JavaScript (running from the TypeScript sources), Node evaluates this
 * function's source text instead.
 */
import type { WorkerInit, WorkerMessage } from "./protocol.js";

export function workerMain(init: WorkerInit, post: (message: WorkerMessage) => void): void {
  const L = init.layout;
  const instance = new WebAssembly.Instance(init.module, {
    env: {
      memory: init.memory,
      abort: (_m: number, _f: number, line: number, col: number) => {
        throw new Error(`onebit: kernel abort at ${line}:${col}`);
      },
      seed: () => 0,
    },
  });
  const exports = instance.exports as Record<string, unknown>;
  const fns = init.names.map((n) => exports[n] as (...args: number[]) => unknown);
  // The slot sits below the heap's first allocation, so a view of the first buffer stays
  // valid when the (shared) memory grows.
  const ctl = new Int32Array(init.memory.buffer, init.slot, L.callsByte >> 2);
  const values = new Float64Array(init.memory.buffer, init.slot + L.callsByte, L.maxValues);
  post({ type: "ready" });
  let seen = Atomics.load(ctl, L.seq);
  for (;;) {
    let seq = Atomics.load(ctl, L.seq);
    for (let i = 0; seq === seen && i < init.spin; i++) seq = Atomics.load(ctl, L.seq);
    if (seq === seen) {
      Atomics.wait(ctl, L.seq, seen);
      continue;
    }
    seen = seq;
    const count = Atomics.load(ctl, L.count);
    let status = 0;
    try {
      for (let p = 0; p < count; ) {
        const fn = values[p]!;
        const nargs = values[p + 1]!;
        if (fn === L.exit) return;
        const args: number[] = [];
        for (let i = 0; i < nargs; i++) args.push(values[p + 2 + i]!);
        fns[fn]!(...args);
        p += 2 + nargs;
      }
    } catch (err) {
      status = 1;
      post({ type: "error", message: String((err as Error)?.stack ?? err) });
    }
    Atomics.store(ctl, L.status, status);
    Atomics.store(ctl, L.done, seq);
    Atomics.notify(ctl, L.done);
  }
}
