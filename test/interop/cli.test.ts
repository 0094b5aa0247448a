/**
 * `onebit import` and `onebit export --format onnx`, run in-process: the files they write,
 * their --verify against onnxruntime, and their errors (no file written on failure).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { register as registerExport } from "../../src/cli/commands/export.js";
import { register as registerImport } from "../../src/cli/commands/import.js";
import { loadDataset } from "../../src/data/index.js";
import { decodeModel, encodeModel } from "../../src/engine/format.js";
import { convertCheckpoint } from "../../src/export/checkpoint.js";
import { exportedInputLayout, verifyOnnxOnDataset } from "../../src/interop/files.js";
import { importOnnx } from "../../src/interop/import.js";
import { formatOnnxReport } from "../../src/interop/verify-onnx.js";
import { createContext } from "../../src/tensor/index.js";
import { train } from "../../src/train/trainer.js";

const FIXTURES = path.join(import.meta.dirname, "../fixtures/onnx");

async function onebit(...args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const program = new Command().exitOverride();
  registerImport(program);
  registerExport(program);
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const before = process.exitCode;
  try {
    await program.parseAsync(["node", "onebit", ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, exitCode };
}

afterEach(() => vi.restoreAllMocks());

describe("onebit import", () => {
  it("writes a .onebit model and verifies it against onnxruntime", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-import-"));
    const out = path.join(dir, "mlp.onebit");
    const { out: text, exitCode } = await onebit(
      "import",
      path.join(FIXTURES, "mlp-sign.onnx"),
      "--out",
      out,
      "--input-range",
      "0,1",
      "--verify",
      "--limit-test",
      "200",
      "--json",
    );
    const r = JSON.parse(text);
    expect(exitCode).toBeUndefined();
    expect(r.binary_layers).toBe(2);
    expect(r.verify.ok).toBe(true);
    expect(r.verify.images).toBe(200);
    const model = decodeModel(readFileSync(out), out);
    expect(model.metadata).toMatchObject({ source: "onnx", dataset: "mnist", inputRange: [0, 1], opset: 13 });
    expect(model.classNames).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("names the class list mismatch and writes nothing for a model it cannot convert", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-import-"));
    const out = path.join(dir, "x.onebit");
    await expect(
      onebit("import", path.join(FIXTURES, "mlp-sign.onnx"), "--out", out, "--classes", "a,b"),
    ).rejects.toThrow("the model has 10 outputs, 2 class names were given");
    await expect(onebit("import", path.join(FIXTURES, "unknown-op.onnx"), "--out", out)).rejects.toThrow(
      /Selu/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe("onebit export --format onnx", () => {
  it("a bnn-cnn trained a few steps: the ONNX graph runs in onnxruntime like the engine, and imports back", async () => {
    const ctx = await createContext("wasm");
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-export-onnx-"));
    const data = await loadDataset("mnist", { limitTrain: 320, limitTest: 100 });
    const r = await train({
      ctx,
      data,
      outDir: dir,
      config: {
        model: { builder: "bnn-cnn", options: { widthMultiplier: 0.25, last: "binary", padValue: -1 } },
        epochs: 1,
        batchSize: 64,
        lr: 1e-2,
      },
      progress: "quiet",
    });
    r.model.dispose();
    const out = path.join(dir, "model.onnx");
    const { out: text, exitCode } = await onebit(
      "export",
      r.checkpoint!,
      "--format",
      "onnx",
      "--out",
      out,
      "--json",
    );
    const summary = JSON.parse(text);
    expect(exitCode).toBeUndefined();
    expect(summary.format).toBe("onnx");
    // What --verify runs on the whole test set, here on a slice.
    const engineModel = decodeModel(
      encodeModel((await convertCheckpoint(r.checkpoint!, { limitTest: 1 })).engineModel),
    );
    const report = await verifyOnnxOnDataset(
      engineModel,
      readFileSync(out),
      exportedInputLayout(engineModel),
      {
        dataset: "mnist",
        limitTest: 500,
      },
    );
    expect(report.ok, formatOnnxReport(report)).toBe(true);
    // The exported graph is standard ONNX: it binarizes with Where and carries +/-1 weights.
    const back = importOnnx(readFileSync(out), { file: out, inputRange: [0, 255] });
    expect(back.model.layers.filter((l) => l.kind.startsWith("binary_")).length).toBe(4);
  });
});
