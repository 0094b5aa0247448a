import { describe, expect, it } from "vitest";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "../../src/nn/checkpointFormat.js";
import { layers, sequential } from "../../src/nn/functional.js";

const sample = (): Checkpoint => ({
  spec: sequential({
    inputShape: [3, 1],
    layers: [layers.flatten(), layers.quantDense({ units: 2, kernelQuantizer: "ste_sign", name: "dense" })],
  }),
  model: { builder: "bnn-mlp", options: { width: 4 } },
  epoch: 2,
  state: { history: [{ epoch: 1 }], rng: [1, 2, 3, 4] },
  tensors: new Map([
    ["layers.1.kernel", { shape: [2, 3], data: new Float32Array([1, -1, 0.5, -0.25, 0, 3]) }],
    ["layers.2.runningVar", { shape: [2], data: new Float32Array([1, 2]) }],
  ]),
});

describe("checkpoint format", () => {
  it("round-trips config, state and tensors", () => {
    const bytes = encodeCheckpoint(sample());
    const ck = decodeCheckpoint(bytes);
    expect(ck.model).toEqual(sample().model);
    expect(ck.spec).toEqual(sample().spec);
    expect(ck.epoch).toBe(2);
    expect(ck.state).toEqual(sample().state);
    expect([...ck.tensors.keys()]).toEqual(["layers.1.kernel", "layers.2.runningVar"]);
    expect([...ck.tensors.get("layers.1.kernel")!.data]).toEqual([1, -1, 0.5, -0.25, 0, 3]);
    expect(ck.tensors.get("layers.1.kernel")!.shape).toEqual([2, 3]);
  });

  it("is deterministic", () => {
    expect(Buffer.compare(encodeCheckpoint(sample()), encodeCheckpoint(sample()))).toBe(0);
  });

  it("rejects bad files with a message naming the file and the problem", () => {
    const good = encodeCheckpoint(sample());
    expect(() => decodeCheckpoint(good.slice(0, 10), "a.ckpt")).toThrow(
      /a\.ckpt: .*shorter than the 16-byte preamble/,
    );
    const badMagic = good.slice();
    badMagic[0] = 0x58;
    expect(() => decodeCheckpoint(badMagic, "b.ckpt")).toThrow(/b\.ckpt: .*magic/);
    const badVersion = good.slice();
    new DataView(badVersion.buffer).setUint32(8, 9, true);
    expect(() => decodeCheckpoint(badVersion)).toThrow(/format version 9/);
    const hugeHeader = good.slice();
    new DataView(hugeHeader.buffer).setUint32(12, 0xfffffff0, true);
    expect(() => decodeCheckpoint(hugeHeader)).toThrow(/header length/);
    expect(() => decodeCheckpoint(good.slice(0, good.length - 12), "t.ckpt")).toThrow(
      /tensor 'layers.2.runningVar' ends at byte/,
    );
  });

  it("refuses tensors whose data does not match their shape", () => {
    const ck = sample();
    ck.tensors.set("x", { shape: [3], data: new Float32Array(2) });
    expect(() => encodeCheckpoint(ck)).toThrow(/'x' has shape \[3\] but 2 values/);
  });
});
