/**
 * The body of a kernel worker: instantiate the kernel module on the shared memory, then
 * claim and run chunks of each published job until told to exit (protocol.ts). It blocks
 * its thread in Atomics.wait between jobs, which is what a worker is for.
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
  // The control block sits at a fixed place, so views of the first buffer stay valid
  // when the (shared) memory grows.
  const ctl = new Int32Array(init.memory.buffer, init.control, L.OFFSETS + L.maxChunks);
  const values = new Float64Array(init.memory.buffer, init.control + L.valuesByte, L.maxValues);
  const runChunk = (chunk: number) => {
    let p = ctl[L.OFFSETS + chunk]!;
    const calls = values[p++]!;
    for (let c = 0; c < calls; c++) {
      const fn = values[p]!;
      const nargs = values[p + 1]!;
      const args: number[] = [];
      for (let i = 0; i < nargs; i++) {
        const v = values[p + 2 + i]!;
        args.push(v === L.scratchMark ? init.scratch : v);
      }
      fns[fn]!(...args);
      p += 2 + nargs;
    }
  };
  post({ type: "ready" });
  let seen = -1;
  for (;;) {
    let seq = Atomics.load(ctl, L.SEQ);
    if (seq === seen || seq & 1) {
      const until = performance.now() + init.spinMicros / 1000;
      for (let i = 1; seq === seen || seq & 1; i++) {
        seq = Atomics.load(ctl, L.SEQ);
        if ((i & 255) === 0 && performance.now() > until) break;
      }
    }
    if (seq === seen || seq & 1) {
      Atomics.wait(ctl, L.SEQ, seq);
      continue;
    }
    if (Atomics.load(ctl, L.EXIT)) return;
    const base = Atomics.load(ctl, L.BASE);
    const limit = Atomics.load(ctl, L.LIMIT);
    if (Atomics.load(ctl, L.SEQ) !== seq) continue; // a new job was being written: read again
    seen = seq;
    for (;;) {
      const ticket = Atomics.load(ctl, L.NEXT);
      if (ticket < base || ticket >= limit) break;
      if (Atomics.compareExchange(ctl, L.NEXT, ticket, ticket + 1) !== ticket) continue;
      try {
        runChunk(ticket - base);
      } catch (err) {
        const text = String((err as Error)?.message ?? err);
        // The first failure of a job leaves its message for the caller, who is blocked
        // and cannot receive a postMessage before it throws.
        if (Atomics.compareExchange(ctl, L.STATUS, 0, 1) === 0) {
          const chars = new Uint16Array(init.memory.buffer, init.control + L.messageByte, L.messageChars);
          const n = Math.min(text.length, L.messageChars);
          for (let i = 0; i < n; i++) chars[i] = text.charCodeAt(i);
          Atomics.store(ctl, L.MESSAGE_LENGTH, n);
        }
        post({ type: "error", message: String((err as Error)?.stack ?? err) });
      }
      Atomics.add(ctl, L.FINISHED, 1);
      Atomics.notify(ctl, L.FINISHED);
    }
  }
}
