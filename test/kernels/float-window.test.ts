import { describe, expect, it } from "vitest";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import { createBackend } from "../../src/kernels/index.js";
import { Random } from "../../src/util/random.js";
import { allBackends, compareBackends, randomF32, runOn } from "./float-harness.js";

// [n, h, w, c, kh, kw, stride, padding]
const WINDOWS: [number, number, number, number, number, number, number, Padding][] = [
  [1, 1, 1, 1, 1, 1, 1, "valid"],
  [2, 5, 5, 1, 3, 3, 1, "same"],
  [1, 6, 7, 3, 3, 3, 2, "same"],
  [2, 7, 6, 5, 2, 2, 2, "valid"],
  [1, 8, 8, 4, 3, 3, 1, "valid"],
  [1, 9, 5, 8, 5, 3, 2, "same"],
  [1, 4, 4, 13, 4, 4, 3, "same"],
  [3, 6, 6, 32, 3, 3, 1, "same"],
  [2, 11, 11, 6, 2, 2, 2, "valid"],
  [2, 7, 9, 9, 2, 3, 3, "same"],
  [1, 9, 8, 19, 3, 3, 2, "same"],
];

describe("window kernels: wasm matches ref exactly", () => {
  for (const [n, h, w, c, kh, kw, s, padding] of WINDOWS) {
    const g = convGeometry(n, h, w, c, kh, kw, s, s, padding);
    const xSize = n * h * w * c;
    const ySize = n * g.outH * g.outW * c;
    const colSize = n * g.outH * g.outW * kh * kw * c;
    const label = `${n}x${h}x${w}x${c} k${kh}x${kw} s${s} ${padding}`;

    it(`im2col and col2im, ${label}`, async () => {
      const rng = new Random(h * 100 + c);
      for (const padValue of [0, -1, 0.5]) {
        await compareBackends(
          `im2col pad ${padValue} ${label}`,
          { x: randomF32(rng, xSize), cols: randomF32(rng, colSize) },
          (f, p) => f.im2col(g, p.x!, padValue, p.cols!),
        );
      }
      await compareBackends(
        `col2im ${label}`,
        { cols: randomF32(rng, colSize), dx: randomF32(rng, xSize) },
        (f, p) => f.col2im(g, p.cols!, p.dx!),
      );
    });

    it(`depthwise forward (float64 sums in tap order), ${label}`, async () => {
      const rng = new Random(kw * 100 + c);
      // Wide-ranging values, so that a float32 sum or another tap order would round differently.
      const x = Float32Array.from(randomF32(rng, xSize), (v, i) => v * 2 ** ((i % 9) - 4));
      await compareBackends(
        `depthwise ${label}`,
        { x, w: randomF32(rng, kh * kw * c), y: randomF32(rng, ySize) },
        (f, p) => f.depthwise(g, p.x!, p.w!, p.y!),
      );
    });

    it(`pooling forward and backward, ${label}`, async () => {
      const rng = new Random(w * 100 + c);
      const x = randomF32(rng, xSize);
      // Ties: the first maximum in window order must win.
      for (let i = 0; i < xSize; i += 7) x[i] = 0.5;
      await compareBackends(
        `maxPool ${label}`,
        { x, y: randomF32(rng, ySize), arg: new Int32Array(ySize) },
        (f, p) => f.maxPool(g, p.x!, p.y!, p.arg!),
      );
      // Inference (argmax 0): the same values, ties of +0 and -0 included, bit for bit.
      const zeros = Float32Array.from(x, (v, i) => (i % 3 ? v : i % 2 ? -0 : 0));
      for (const backend of await allBackends()) {
        const [withArg, alone] = [true, false].map(
          (arg) =>
            runOn(backend, { x: zeros, y: new Float32Array(ySize), arg: new Int32Array(ySize) }, (f, p) =>
              f.maxPool(g, p.x!, p.y!, arg ? p.arg! : 0),
            ).buffers.y as Float32Array,
        );
        expect(new Uint32Array(alone!.buffer), `maxPool values ${backend.float.name} ${label}`).toEqual(
          new Uint32Array(withArg!.buffer),
        );
      }
      // The argmax a forward pass wrote (the backward's gather path relies on it), and
      // dy with zeros of both signs (overwrite must give 0 + dy, as the scatter does).
      const ref = await createBackend("ref");
      const arg = runOn(ref, { x, y: new Float32Array(ySize), arg: new Int32Array(ySize) }, (f, p) =>
        f.maxPool(g, p.x!, p.y!, p.arg!),
      ).buffers.arg as Int32Array;
      const dy = randomF32(rng, ySize);
      for (let i = 0; i < ySize; i += 5) dy[i] = i % 2 ? -0 : 0;
      for (const overwrite of [true, false]) {
        await compareBackends(
          `maxPoolBackward ${overwrite ? "overwrite" : "accumulate"} ${label}`,
          { dy, arg, dx: randomF32(rng, xSize) },
          (f, p) => f.maxPoolBackward(g, p.dy!, p.arg!, p.dx!, overwrite),
        );
      }
      await compareBackends(
        `avgPool ${label}`,
        { x: randomF32(rng, xSize), y: randomF32(rng, ySize) },
        (f, p) => f.avgPool(g, p.x!, p.y!),
        1e-6,
      );
      await compareBackends(
        `avgPoolBackward ${label}`,
        { dy: randomF32(rng, ySize), dx: randomF32(rng, xSize) },
        (f, p) => f.avgPoolBackward(g, p.dy!, p.dx!),
      );
    });
  }

  it("max pooling keeps NaN and never picks a padding position", async () => {
    const g = convGeometry(1, 3, 3, 4, 3, 3, 2, 2, "same");
    const x = new Float32Array(36).fill(-5);
    x[0] = Number.NaN;
    await compareBackends("maxPool NaN", { x, y: new Float32Array(16), arg: new Int32Array(16) }, (f, p) =>
      f.maxPool(g, p.x!, p.y!, p.arg!),
    );
  });
});
