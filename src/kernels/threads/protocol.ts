/**
 * The control block through which the calling thread hands kernel calls to the workers:
 * one slot per worker in the shared memory, read and written with Atomics (a dispatch is
 * a store + notify, about 0.1 ms round trip, far cheaper than postMessage).
 *
 * Slot layout (int32 indices from the slot start; the calls from byte CALLS_BYTE, float64):
 *   SEQ     job number, incremented by the caller to hand over a job (the worker waits on it)
 *   DONE    the job number the worker last finished (the caller waits on it)
 *   STATUS  0 ok, 1 the last job threw (the worker also posts the message)
 *   COUNT   float64 values used in the calls area
 *   calls   [fnIndex, nargs, arg0, ..., fnIndex, nargs, ...]: run in order by the worker
 * fnIndex -1 asks the worker to exit.
 */
export const SLOT_BYTES = 512;
export const CALLS_BYTE = 64;
export const MAX_CALL_VALUES = (SLOT_BYTES - CALLS_BYTE) / 8;
export const EXIT = -1;

export const Slot = { SEQ: 0, DONE: 1, STATUS: 2, COUNT: 3 } as const;

/** What a worker receives once, before it starts serving jobs. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Export names; a call's fnIndex indexes this list. */
  names: string[];
  /** Byte offset of this worker's slot in the memory. */
  slot: number;
  layout: {
    slotBytes: number;
    callsByte: number;
    maxValues: number;
    seq: number;
    done: number;
    status: number;
    count: number;
    exit: number;
  };
  /** Atomics.load polls before a worker sleeps in Atomics.wait (keeps back-to-back jobs cheap). */
  spin: number;
}

export function layout(): WorkerInit["layout"] {
  return {
    slotBytes: SLOT_BYTES,
    callsByte: CALLS_BYTE,
    maxValues: MAX_CALL_VALUES,
    seq: Slot.SEQ,
    done: Slot.DONE,
    status: Slot.STATUS,
    count: Slot.COUNT,
    exit: EXIT,
  };
}

/** Messages a worker posts to the thread that made it. */
export type WorkerMessage = { type: "ready" } | { type: "error"; message: string };
