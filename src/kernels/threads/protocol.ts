/**
 * The control block through which the calling thread shares kernel work with the workers,
 * in the shared memory, read and written with Atomics (a dispatch is a few stores and a
 * notify: far cheaper than postMessage).
 *
 * A job is a list of chunks; each chunk is a list of kernel calls run in order. Every
 * thread (caller and workers) claims chunks with compare-and-swap on a ticket counter
 * until none are left, so a worker that the OS schedules late simply finds nothing to do
 * and the caller is never stuck waiting for it to start. Which thread runs a chunk does
 * not change its result.
 *
 * Header (int32 indices):
 *   SEQ       seqlock: odd while the caller writes a job, even once it is published
 *   NEXT      the next chunk ticket (monotonic across jobs)
 *   BASE      ticket of the job's first chunk; LIMIT: one past its last
 *   FINISHED  chunks finished (monotonic; the job is done when FINISHED >= LIMIT)
 *   STATUS    1 once a chunk threw; the first message goes to the message area
 *   MESSAGE_LENGTH  its length
 *   EXIT      1 asks the workers to return
 * Then OFFSETS (int32, one per chunk): where chunk i starts in the values area (float64):
 *   [calls, fnIndex, nargs, arg0, ..., fnIndex, nargs, ...]
 * An argument equal to SCRATCH is replaced by the running thread's own scratch pointer.
 */
export const HEADER_INTS = 16;
export const MAX_CHUNKS = 256;
export const VALUES_BYTE = (HEADER_INTS + MAX_CHUNKS) * 4;
export const MAX_VALUES = 8192;
/** The first error message of a job (UTF-16 code units; its length in MESSAGE_LENGTH). */
export const MESSAGE_BYTE = VALUES_BYTE + MAX_VALUES * 8;
export const MESSAGE_CHARS = 512;
export const CONTROL_BYTES = MESSAGE_BYTE + MESSAGE_CHARS * 2;
/**
 * Stands for "this thread's scratch block" in a call's arguments: a value no argument
 * takes (pointers and sizes are non-negative integers, float32 arguments stay below 3.4e38
 * in magnitude). It was -1 once, which a pad value or an offset of -1 also is.
 */
export const SCRATCH = -Number.MAX_VALUE;

export const Ctl = {
  SEQ: 0,
  NEXT: 1,
  BASE: 2,
  LIMIT: 3,
  FINISHED: 4,
  STATUS: 5,
  EXIT: 6,
  MESSAGE_LENGTH: 7,
  OFFSETS: HEADER_INTS,
} as const;

/** What a worker receives once, before it starts serving jobs. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Export names; a call's fnIndex indexes this list. */
  names: string[];
  /** Byte offset of the control block in the memory. */
  control: number;
  /** This worker's scratch block (byte offset). */
  scratch: number;
  layout: typeof Ctl & {
    valuesByte: number;
    maxValues: number;
    maxChunks: number;
    scratchMark: number;
    messageByte: number;
    messageChars: number;
  };
  /**
   * Microseconds a worker polls for the next job before it sleeps in Atomics.wait: jobs
   * that follow within that time start without a wake-up (tens of microseconds here).
   */
  spinMicros: number;
}

export function layout(): WorkerInit["layout"] {
  return {
    ...Ctl,
    valuesByte: VALUES_BYTE,
    maxValues: MAX_VALUES,
    maxChunks: MAX_CHUNKS,
    scratchMark: SCRATCH,
    messageByte: MESSAGE_BYTE,
    messageChars: MESSAGE_CHARS,
  };
}

/** Messages a worker posts to the thread that made it. */
export type WorkerMessage = { type: "ready" } | { type: "error"; message: string };
