/**
 * The engine's public entry points: what `Engine.load` accepts (bytes as Uint8Array,
 * ArrayBuffer or another view; options checked by name) and a disposed engine refusing work
 * with a DisposedError instead of returning scores from freed memory.
 */
import { describe, expect, it } from "vitest";
import { encodeModel } from "../../src/engine/format.js";
import { DisposedError, OnebitError, OptionsError } from "../../src/engine/index.js";
import { Engine } from "../../src/engine/runtime.js";
import { everyLayerModel } from "./format-fixture.js";

const model = everyLayerModel(3);
const bytes = encodeModel(model);
const images = (n: number) => Uint8Array.from({ length: n * 8 * 8 * 3 }, (_, i) => (i * 37) % 256);

describe("Engine.load", () => {
  it("takes the bytes as an ArrayBuffer (fetch().arrayBuffer()), a Uint8Array or a Buffer alike", async () => {
    const fromArray = await Engine.load(bytes, { backend: "ref" });
    const copy = bytes.slice().buffer;
    const fromBuffer = await Engine.load(copy, { backend: "ref" });
    const fromNode = await Engine.load(Buffer.from(bytes), { backend: "ref" });
    const want = fromArray.predict(images(3));
    expect(fromBuffer.predict(images(3))).toEqual(want);
    expect(fromNode.predict(images(3))).toEqual(want);
    // A view into the middle of a larger buffer reads only its own bytes.
    const padded = new Uint8Array(bytes.length + 128);
    padded.set(bytes, 64);
    const fromView = await Engine.load(new DataView(padded.buffer, 64, bytes.length), { backend: "ref" });
    expect(fromView.predict(images(3))).toEqual(want);
    for (const e of [fromArray, fromBuffer, fromNode, fromView]) e.dispose();
  });

  it("refuses a path or nothing with a message saying what it takes", async () => {
    await expect(Engine.load("mnist.onebit" as never)).rejects.toThrow(
      /Engine.load: the model must be the .onebit file's bytes \(Uint8Array or ArrayBuffer\).*got string.*readModelFile/,
    );
    await expect(Engine.load(undefined as never)).rejects.toBeInstanceOf(OptionsError);
  });

  it("refuses unknown and bad options, naming them", async () => {
    await expect(Engine.load(bytes, { maxbatch: 8 } as never)).rejects.toThrow(
      /Engine.load: unknown option 'maxbatch' \(did you mean 'maxBatch'\?\)/,
    );
    const cases: [object, RegExp][] = [
      [{ maxBatch: 0 }, /maxBatch must be a positive integer, got 0/],
      [{ maxBatch: 2.5 }, /maxBatch must be a positive integer, got 2.5/],
      [{ threads: -1 }, /threads must be a positive integer, got -1/],
      [
        { backend: "gpu" },
        /backend must be one of "wasm", "wasm-relaxed", "wasm-simd", "wasm-scalar", "ref", got "gpu"/,
      ],
      [{ fuse: "yes" }, /fuse must be one of true, false, got "yes"/],
      [{ wasmUrl: 3 }, /wasmUrl must be a string or a URL/],
    ];
    for (const [options, message] of cases) {
      const err = await Engine.load(bytes, options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(OptionsError);
      expect((err as Error).message).toMatch(message);
      expect((err as OptionsError).option).toBe(Object.keys(options)[0]);
    }
  });
});

describe("a disposed Engine", () => {
  it("throws DisposedError from predict and trace; dispose is idempotent", async () => {
    const engine = await Engine.load(bytes, { backend: "ref" });
    engine.predict(images(2));
    engine.dispose();
    engine.dispose();
    expect(engine.isDisposed).toBe(true);
    for (const call of [() => engine.predict(images(2)), () => engine.trace(images(1))]) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DisposedError);
      expect(err).toBeInstanceOf(OnebitError);
      expect((err as DisposedError).object).toBe("Engine");
      expect((err as Error).message).toMatch(/^Engine\.(predict|trace): this Engine was disposed/);
    }
  });

  it("on the wasm backend too (where freed memory used to give wrong classes)", async () => {
    const engine = await Engine.load(bytes);
    engine.predict(images(4));
    engine.dispose();
    expect(() => engine.predict(images(4))).toThrow(DisposedError);
  });
});
