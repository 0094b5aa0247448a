/**
 * The heap: every tensor's data lives in one WebAssembly.Memory, so WebAssembly kernels
 * work on it in place and TypeScript reads it through typed-array views.
 *
 * Allocation is done here, in TypeScript (kernels never allocate). Blocks are 64-byte
 * aligned and carry at least 64 bytes of slack, so vector loops may over-read the end of
 * a buffer. Freed blocks go to a free list keyed by their rounded size: a training step
 * allocates the same sizes every step, so after the first step it reuses blocks instead of
 * growing memory.
 *
 * The memory may be created shared (for worker threads); views are re-created whenever
 * the memory has grown, since growth replaces (or, for shared memory, enlarges) the buffer.
 */
const ALIGN = 64;
const SLACK = 64;
const PAGE = 65536;

export interface HeapOptions {
  /** Bytes reserved at the bottom of memory (the kernel module's static data). */
  base?: number;
  /** Initial size in bytes (rounded up to 64 KiB pages). */
  initialBytes?: number;
  /** Maximum size in bytes; allocation beyond it throws. Default 4 GiB - 64 KiB. */
  maximumBytes?: number;
  /** Create a SharedArrayBuffer-backed memory (needed for worker threads). */
  shared?: boolean;
  /** Use this memory instead of creating one. */
  memory?: WebAssembly.Memory;
}

function roundSize(bytes: number): number {
  const b = Math.max(bytes, 1) + SLACK;
  // Small blocks: 64-byte granularity. Large: 1/16 granularity so similar sizes share a list.
  if (b <= 65536) return Math.ceil(b / ALIGN) * ALIGN;
  const step = 2 ** Math.max(12, Math.floor(Math.log2(b)) - 4);
  return Math.ceil(b / step) * step;
}

/**
 * All tensor memory of a backend: one WebAssembly.Memory cut into 64-byte-aligned blocks (with
 * slack past the end for vector loops), freed blocks reused by size. Kernels take byte offsets
 * into it.
 */
export class Heap {
  readonly memory: WebAssembly.Memory;
  readonly maximumBytes: number;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  private buffer: ArrayBufferLike;
  private bytesInUse = 0;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u32View: Uint32Array;
  private u8View: Uint8Array;

  constructor(options: HeapOptions = {}) {
    this.maximumBytes = options.maximumBytes ?? 4 * 1024 * 1024 * 1024 - PAGE;
    const maxPages = Math.floor(this.maximumBytes / PAGE);
    if (options.memory) {
      this.memory = options.memory;
    } else {
      const initial = Math.max(1, Math.ceil((options.initialBytes ?? 16 * PAGE) / PAGE));
      this.memory = new WebAssembly.Memory({
        initial,
        maximum: maxPages,
        shared: options.shared ?? false,
      } as WebAssembly.MemoryDescriptor);
    }
    this.top = Math.ceil(Math.max(options.base ?? 1024, 1024) / ALIGN) * ALIGN;
    this.buffer = this.memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
    this.u32View = new Uint32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
  }

  /**
   * Allocates `bytes` bytes, 64-byte aligned, with 64 bytes of slack. The contents are
   * undefined unless `zero` is set (reused blocks keep old data). Returns the byte offset.
   */
  alloc(bytes: number, zero = false): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`Heap.alloc: bad size ${bytes}`);
    const size = roundSize(bytes);
    const list = this.freeLists.get(size);
    let ptr: number;
    if (list && list.length > 0) {
      ptr = list.pop() as number;
      if (zero) this.u8().fill(0, ptr, ptr + size);
    } else {
      ptr = this.top;
      const end = ptr + size;
      if (end > this.maximumBytes) {
        throw new RangeError(
          `Heap.alloc: out of memory: ${bytes} bytes requested, ${this.bytesInUse} in use, limit ${this.maximumBytes}`,
        );
      }
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        // Grow geometrically so that a long run does not grow page by page.
        const want = Math.min(Math.max(end, have * 1.5), this.maximumBytes);
        this.memory.grow(Math.ceil((want - have) / PAGE));
      }
      this.top = end;
    }
    this.sizes.set(ptr, size);
    this.bytesInUse += size;
    return ptr;
  }

  /**
   * Keeps the first `bytes` bytes of memory for a kernel module's static data. Must be
   * called before the first allocation.
   */
  reserveBase(bytes: number): void {
    const base = Math.ceil(Math.max(bytes, 1024) / ALIGN) * ALIGN;
    if (base <= this.top) return;
    if (this.sizes.size > 0 || this.freeLists.size > 0) {
      throw new Error(`Heap.reserveBase: ${bytes} bytes requested after allocation began`);
    }
    this.top = base;
  }

  /**
   * Runs `body` with `take(bytes)`, which allocates blocks that are all freed when body
   * returns or throws (scratch for one kernel sequence).
   */
  withBlocks<T>(body: (take: (bytes: number) => number) => T): T {
    const blocks: number[] = [];
    try {
      return body((bytes) => {
        const p = this.alloc(bytes);
        blocks.push(p);
        return p;
      });
    } finally {
      for (const p of blocks) this.free(p);
    }
  }

  /** Returns a block to its free list. Freeing twice, or a pointer never allocated, throws. */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`Heap.free: ${ptr} is not an allocated block`);
    this.sizes.delete(ptr);
    this.bytesInUse -= size;
    let list = this.freeLists.get(size);
    if (!list) {
      list = [];
      this.freeLists.set(size, list);
    }
    list.push(ptr);
  }

  /** Bytes in live blocks (rounded sizes). */
  get inUse(): number {
    return this.bytesInUse;
  }

  /** Bytes ever taken from memory (the high-water mark of the heap). */
  get reserved(): number {
    return this.top;
  }

  /** The number of blocks allocated and not yet freed. */
  get liveBlocks(): number {
    return this.sizes.size;
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer || this.u8View.byteLength !== this.memory.buffer.byteLength) {
      this.buffer = this.memory.buffer;
      this.f32View = new Float32Array(this.buffer);
      this.i32View = new Int32Array(this.buffer);
      this.u32View = new Uint32Array(this.buffer);
      this.u8View = new Uint8Array(this.buffer);
    }
  }

  /** The whole memory as float32 (index = byte offset >> 2). Do not hold across allocations. */
  f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }
  /** The whole memory as int32 (index = byte offset >> 2). Do not hold across allocations. */
  i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }
  /** The whole memory as uint32 (index = byte offset >> 2). Do not hold across allocations. */
  u32(): Uint32Array {
    this.refresh();
    return this.u32View;
  }
  /** The whole memory as bytes. Do not hold across allocations. */
  u8(): Uint8Array {
    this.refresh();
    return this.u8View;
  }

  /** A float32 view of `length` elements at byte offset `ptr`. Do not hold across allocations. */
  f32At(ptr: number, length: number): Float32Array {
    this.refresh();
    return new Float32Array(this.buffer, ptr, length);
  }
  /** An int32 view of `length` elements at byte offset `ptr`. Do not hold across allocations. */
  i32At(ptr: number, length: number): Int32Array {
    this.refresh();
    return new Int32Array(this.buffer, ptr, length);
  }
  /** A uint32 view of `length` elements at byte offset `ptr`. Do not hold across allocations. */
  u32At(ptr: number, length: number): Uint32Array {
    this.refresh();
    return new Uint32Array(this.buffer, ptr, length);
  }
}
