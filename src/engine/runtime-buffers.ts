/**
 * What an engine step is and the heap blocks it owns: its output buffer (a spare block of
 * the plan where one fits) and its scratch, freed with the step. The steps themselves are
 * built in runtime-steps.ts.
 */
import type { Backend } from "../kernels/index.js";
import type { Job } from "../kernels/wasm/calls.js";
import type { ActivationSpec, Layer } from "./model.js";
import { storageLength } from "./model.js";

/** A buffer in the heap: byte offset and the number of 4-byte elements it holds. */
export interface Buffer {
  ptr: number;
  length: number;
}

export interface Step {
  readonly layer: Layer;
  /** The layer's output activation for the whole batch. */
  readonly out: Buffer;
  /** Binary layers: the int32 dot values [rows, outC] before the output transform. */
  readonly preActivation?: Buffer;
  run(): void;
  /**
   * The step's kernel calls as one job over its n images (the kernel wrappers' own call
   * builders), so that the runtime can run several steps per chunk of images in one pool
   * dispatch. Absent where the step runs TypeScript, has no kernel module or no pool, or
   * keeps intermediates for `trace`.
   */
  readonly job?: Job;
  /** Frees the step's buffers (not the weights). */
  free(): void;
  /**
   * Frees the output buffer alone, once no later step reads it (its scratch may hold
   * state across runs, such as a padded copy's zero border, so it stays).
   */
  releaseOutput?(): void;
}

/** Storage elements of one sample's activation (bits: words). */
export function activationLength(spec: ActivationSpec): number {
  return storageLength(spec.layout === "bits" ? "bits" : "f32", spec.shape);
}

/**
 * Blocks of the plan that no later step reads any more, by byte size: a later step's output
 * may take one (its output is rewritten each run, after every reader of the old one ran).
 */
export type SpareBlocks = Map<number, number[]>;

/** The blocks a step owns in the heap: its output (a spare block where one fits) and scratch. */
export class Buffers {
  private readonly owned: number[] = [];
  constructor(
    private readonly backend: Backend,
    private readonly spare?: SpareBlocks,
  ) {}
  /** An output buffer: a spare block of exactly this size if the plan has one. */
  out(length: number): Buffer {
    const ptr = this.spare?.get(Math.max(length, 1) * 4)?.pop();
    if (ptr === undefined) return this.take(length);
    this.owned.push(ptr);
    return { ptr, length };
  }
  take(length: number): Buffer {
    const ptr = this.backend.heap.alloc(Math.max(length, 1) * 4);
    this.owned.push(ptr);
    return { ptr, length };
  }
  free(): void {
    for (const p of this.owned) this.backend.heap.free(p);
    this.owned.length = 0;
  }
  /**
   * Hands one owned block of `length` elements to the plan's spare blocks (a no-op for a
   * block it does not own, e.g. an aliased input). Not to the heap: other plans and later
   * allocations must not take a block this plan still writes and reads each run.
   */
  release(ptr: number, length: number): void {
    const i = this.owned.indexOf(ptr);
    if (i < 0 || !this.spare) return;
    this.owned.splice(i, 1);
    const bytes = Math.max(length, 1) * 4;
    this.spare.set(bytes, [...(this.spare.get(bytes) ?? []), ptr]);
  }
}
