import { describe, expect, it } from "vitest";
import { convGeometry } from "../../src/kernels/geometry.js";
import { createBackend } from "../../src/kernels/index.js";

describe("convGeometry", () => {
  it("follows TensorFlow's 'same' and 'valid' rules", () => {
    const same = convGeometry(2, 28, 27, 3, 3, 3, 2, 2, "same");
    expect(same).toMatchObject({ outH: 14, outW: 14, padTop: 0, padLeft: 1 });
    const same1 = convGeometry(1, 5, 5, 1, 3, 3, 1, 1, "same");
    expect(same1).toMatchObject({ outH: 5, outW: 5, padTop: 1, padLeft: 1 });
    expect(convGeometry(1, 28, 28, 1, 3, 3, 1, 1, "valid")).toMatchObject({ outH: 26, outW: 26, padTop: 0 });
    expect(convGeometry(1, 13, 13, 1, 2, 2, 2, 2, "valid")).toMatchObject({ outH: 6, outW: 6 });
    expect(() => convGeometry(1, 2, 2, 1, 3, 3, 1, 1, "valid")).toThrow(/does not fit a 2x2 image/);
  });
});

describe("ref float kernels", () => {
  it("computes a small sgemm with transposes, alpha and beta", async () => {
    const { heap, float } = await createBackend("ref");
    const a = heap.alloc(4 * 6);
    const b = heap.alloc(4 * 6);
    const c = heap.alloc(4 * 4);
    heap.f32At(a, 6).set([1, 2, 3, 4, 5, 6]); // A [2, 3]
    heap.f32At(b, 6).set([1, 0, 0, 1, 1, 1]); // B [3, 2]
    heap.f32At(c, 4).set([1, 1, 1, 1]);
    float.sgemm(false, false, 2, 2, 3, 2, a, 3, b, 2, 1, c, 2);
    expect(Array.from(heap.f32At(c, 4))).toEqual([9, 11, 21, 23]);
    // A^T stored [3, 2] = [[1,4],[2,5],[3,6]]; B^T stored [2, 3]; beta 0 ignores NaN.
    heap.f32At(a, 6).set([1, 4, 2, 5, 3, 6]);
    heap.f32At(b, 6).set([1, 0, 1, 0, 1, 1]);
    heap.f32At(c, 4).fill(Number.NaN);
    float.sgemm(true, true, 2, 2, 3, 1, a, 2, b, 3, 0, c, 2);
    expect(Array.from(heap.f32At(c, 4))).toEqual([4, 5, 10, 11]);
  });

  it("im2col then col2im multiplies each pixel by its tap count", async () => {
    const { heap, float } = await createBackend("ref");
    const g = convGeometry(1, 3, 3, 1, 3, 3, 1, 1, "same");
    const x = heap.alloc(4 * 9);
    const cols = heap.alloc(4 * 81);
    const dx = heap.alloc(4 * 9, true);
    heap.f32At(x, 9).fill(1);
    float.im2col(g, x, 0, cols);
    expect(Array.from(heap.f32At(cols, 9))).toEqual([0, 0, 0, 0, 1, 1, 0, 1, 1]);
    float.col2im(g, cols, dx);
    expect(Array.from(heap.f32At(dx, 9))).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  it("max-pools with first-maximum argmax and routes the gradient back", async () => {
    const { heap, float } = await createBackend("ref");
    const g = convGeometry(1, 2, 4, 1, 2, 2, 2, 2, "valid");
    const x = heap.alloc(4 * 8);
    const y = heap.alloc(4 * 2);
    const arg = heap.alloc(4 * 2);
    const dx = heap.alloc(4 * 8, true);
    heap.f32At(x, 8).set([1, 5, 2, 2, 5, 0, 2, 2]);
    float.maxPool(g, x, y, arg);
    expect(Array.from(heap.f32At(y, 2))).toEqual([5, 2]);
    expect(Array.from(heap.i32At(arg, 2))).toEqual([1, 2]);
    heap.f32At(y, 2).set([10, 20]);
    float.maxPoolBackward(g, y, arg, dx, true);
    expect(Array.from(heap.f32At(dx, 8))).toEqual([0, 10, 20, 0, 0, 0, 0, 0]);
  });

  it("softmax cross-entropy of uniform logits is log(cols)", async () => {
    const { heap, float } = await createBackend("ref");
    const z = heap.alloc(4 * 8, true);
    const labels = heap.alloc(4 * 2);
    const d = heap.alloc(4 * 8);
    heap.i32At(labels, 2).set([1, 3]);
    expect(float.softmaxCrossEntropy(2, 4, z, labels, d)).toBeCloseTo(Math.log(4), 6);
    expect(Array.from(heap.f32At(d, 4))).toEqual([0.125, -0.375, 0.125, 0.125]);
  });
});
