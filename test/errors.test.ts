/**
 * The error family: every error onebit throws on purpose is an OnebitError, importable from
 * the package root (and the engine's from `onebit/engine`), with the option, file or layer it
 * concerns as fields.
 */
import { describe, expect, it } from "vitest";
import * as engineEntry from "../src/engine/index.js";
import * as root from "../src/index.js";

describe("the OnebitError family", () => {
  const family: Record<string, { prototype: unknown }> = {
    OptionsError: root.OptionsError,
    DisposedError: root.DisposedError,
    ModelFormatError: root.ModelFormatError,
    CheckpointError: root.CheckpointError,
    ModelSpecError: root.ModelSpecError,
    DataError: root.DataError,
    TrainingDivergedError: root.TrainingDivergedError,
  };

  it("is exported from the package root, each a subclass of OnebitError named after itself", () => {
    expect(typeof root.OnebitError).toBe("function");
    for (const [name, cls] of Object.entries(family)) {
      expect(typeof cls, name).toBe("function");
      expect((cls as unknown as { name: string }).name, name).toBe(name);
      expect(cls.prototype, name).toBeInstanceOf(root.OnebitError);
      expect(cls.prototype, name).toBeInstanceOf(Error);
    }
    expect(root.interop.OnnxError.prototype).toBeInstanceOf(root.OnebitError);
  });

  it("the engine's errors come from onebit/engine too, the same classes", () => {
    expect(engineEntry.OnebitError).toBe(root.OnebitError);
    expect(engineEntry.ModelFormatError).toBe(root.ModelFormatError);
    expect(engineEntry.DisposedError).toBe(root.DisposedError);
    expect(engineEntry.OptionsError).toBe(root.OptionsError);
  });

  it("each carries what it concerns as fields", () => {
    const o = new root.OptionsError("train", "epochs", "epochs must be a positive integer, got -1");
    expect([o.name, o.where, o.option, o.message]).toEqual([
      "OptionsError",
      "train",
      "epochs",
      "train: epochs must be a positive integer, got -1",
    ]);
    const f = new root.ModelFormatError("bad weights", "m.onebit", {
      index: 3,
      name: "conv2",
      kind: "binary_conv2d",
    });
    expect([f.name, f.file, f.layer?.name]).toEqual(["ModelFormatError", "m.onebit", "conv2"]);
    expect(f).toBeInstanceOf(root.OnebitError);
    const c = new root.CheckpointError("last.ckpt", "truncated");
    expect([c.name, c.file, c.detail]).toEqual(["CheckpointError", "last.ckpt", "truncated"]);
    const d = new root.DataError("train-images.idx", "short file");
    expect([d.name, d.file]).toEqual(["DataError", "train-images.idx"]);
    const t = new root.TrainingDivergedError(2, 5, 1, "diverged", {
      layerName: "dense_1",
      file: "x/last.ckpt",
    });
    expect([t.name, t.epoch, t.step, t.layer, t.layerName, t.file]).toEqual([
      "TrainingDivergedError",
      2,
      5,
      1,
      "dense_1",
      "x/last.ckpt",
    ]);
    const g = new root.DisposedError("Engine", "Engine.predict");
    expect([g.name, g.object, g.operation]).toEqual(["DisposedError", "Engine", "Engine.predict"]);
    expect(g.message).toMatch(/Engine.predict: .*disposed/);
    expect(new root.ModelSpecError("spec.json: bad").name).toBe("ModelSpecError");
  });

  it("a real failure is caught as an OnebitError", () => {
    expect(() => root.decodeModel(new Uint8Array(4), "tiny.onebit")).toThrow(root.OnebitError);
    expect(() => root.resolveSpec({})).toThrow(root.OnebitError);
  });
});
