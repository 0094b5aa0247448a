import { describe, expect, it } from "vitest";
import { Heap } from "../src/kernels/heap.js";

describe("Heap", () => {
  it("aligns blocks to 64 bytes and reuses freed blocks of the same size", () => {
    const heap = new Heap();
    const a = heap.alloc(1000);
    const b = heap.alloc(10);
    expect(a % 64).toBe(0);
    expect(b % 64).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 1000 + 64);
    heap.free(a);
    expect(heap.alloc(1000)).toBe(a);
  });

  it("keeps views valid across memory growth", () => {
    const heap = new Heap({ initialBytes: 65536 });
    const p = heap.alloc(16);
    heap.f32At(p, 4).set([1, 2, 3, 4]);
    heap.alloc(8 * 1024 * 1024);
    expect(Array.from(heap.f32At(p, 4))).toEqual([1, 2, 3, 4]);
  });

  it("rejects double free and bad sizes", () => {
    const heap = new Heap();
    const p = heap.alloc(4);
    heap.free(p);
    expect(() => heap.free(p)).toThrow(/not an allocated block/);
    expect(() => heap.alloc(-1)).toThrow(/bad size/);
  });

  it("zeroes a reused block only when asked", () => {
    const heap = new Heap();
    const p = heap.alloc(16);
    heap.f32At(p, 4).fill(7);
    heap.free(p);
    const q = heap.alloc(16, true);
    expect(q).toBe(p);
    expect(Array.from(heap.f32At(q, 4))).toEqual([0, 0, 0, 0]);
  });
});
