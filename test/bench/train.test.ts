/**
 * `onebit bench train`'s model selection and its contract with the PyTorch peers: the
 * arguments a peer gets, the JSON line it answers with, and (where /usr/bin/python3 has torch)
 * that the residual twins in bench/peers build networks of onebit's parameter counts.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  modelCases,
  paramMismatch,
  parseIntList,
  parsePeerRecord,
  peerArgs,
  peerScript,
} from "../../src/bench/train.js";
import { buildModel } from "../../src/nn/build.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

const python = process.env.ONEBIT_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const hasTorch = spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

describe("bench train model cases", () => {
  it("defaults to mlp and cnn with the settings the bench always had", () => {
    const cases = modelCases();
    expect(cases.map((c) => [c.name, c.config, c.batchSize, c.peer, c.residual])).toEqual([
      [
        "mlp",
        { builder: "bnn-mlp", options: { width: 1024, first: "bwn", last: "binary" } },
        100,
        "train_bnn.py",
        false,
      ],
      ["cnn", { builder: "bnn-cnn", options: { first: "bwn", last: "binary" } }, 64, "train_bnn.py", false],
    ]);
  });

  it("residual models take --width and --stages, default 32 and 2,2,2, batch 64", () => {
    const [b, q] = modelCases({ model: "birealnet, quicknet", width: 16, stages: "1,2" });
    expect(b!.config).toEqual({ builder: "birealnet", options: { width: 16, stages: [1, 2] } });
    expect([b!.batchSize, b!.peer, b!.residual]).toEqual([64, "train_residual.py", true]);
    expect(q!.config.builder).toBe("quicknet");
    expect(modelCases({ model: "reactnet" })[0]!.config.options).toEqual({ width: 32, stages: [2, 2, 2] });
  });

  it("rejects unknown models, repeats, bad widths and stages, and residual options without a residual model", () => {
    expect(() => modelCases({ model: "resnet" })).toThrow("unknown model 'resnet'");
    expect(() => modelCases({ model: "cnn,cnn" })).toThrow("listed twice");
    expect(() => modelCases({ model: "birealnet", width: 30 })).toThrow("multiple of 4");
    expect(() => modelCases({ model: "birealnet", stages: "2,0" })).toThrow("positive integers");
    expect(() => modelCases({ model: "cnn", width: 32 })).toThrow("residual models");
    expect(parseIntList("4, 4,4", "--stages")).toEqual([4, 4, 4]);
    expect(() => parseIntList("2.5", "--stages")).toThrow("--stages must be");
  });
});

describe("bench train peer contract", () => {
  it("passes mlp/cnn their precisions and residual models width, stages and the limit", () => {
    const [mlp, cnn, bireal] = modelCases({ model: "mlp,cnn,birealnet", stages: "2,2" });
    const common = ["--lr", "1e-3", "--data", "mnist", "--epochs", "1", "--threads", "2"];
    expect(peerArgs("p.py", mlp!, 640)).toEqual([
      "p.py",
      ...["--model", "bnn-mlp", "--first", "bwn", "--last", "binary", "--batch", "100"],
      ...common,
    ]);
    expect(peerArgs("p.py", cnn!)).toEqual([
      "p.py",
      ...["--model", "bnn-cnn", "--first", "bwn", "--last", "binary", "--batch", "64"],
      ...common,
    ]);
    expect(peerArgs("p.py", bireal!, 640)).toEqual([
      "p.py",
      ...["--model", "birealnet", "--width", "32", "--stages", "2,2", "--limit", "640", "--batch", "64"],
      ...common,
    ]);
    expect(peerArgs("p.py", bireal!)).not.toContain("--limit");
  });

  it("finds each model's script in bench/peers; --peer overrides it and 'none' skips it", () => {
    const [cnn, quick] = modelCases({ model: "cnn,quicknet" });
    const saved = process.env.ONEBIT_PEER;
    delete process.env.ONEBIT_PEER;
    try {
      expect(path.basename(peerScript(undefined, cnn!)!)).toBe("train_bnn.py");
      const script = peerScript(undefined, quick!)!;
      expect(path.basename(script)).toBe("train_residual.py");
      expect(existsSync(script)).toBe(true);
      expect(peerScript("other.py", quick!)).toBe(path.resolve("other.py"));
      expect(peerScript("none", quick!)).toBeNull();
    } finally {
      if (saved !== undefined) process.env.ONEBIT_PEER = saved;
    }
  });

  it("reads the first epoch line, skipping other output", () => {
    const line = JSON.stringify({
      epoch: 1,
      train_s: 12.5,
      cpu_s: 24,
      load1: 1.5,
      torch: "1.13.1",
      params: 308074,
      binary_params: 294912,
    });
    const r = parsePeerRecord(`loading\n{not json\n${line}\n{"train_s": 1}\n`, 6400);
    expect(r).toEqual({
      seconds: 12.5,
      cpuSeconds: 24,
      images: 6400,
      torch: "1.13.1",
      load1: 1.5,
      params: 308074,
      binaryParams: 294912,
    });
    expect(parsePeerRecord('{"epoch": 1}\n', 60000)).toBeNull();
    expect(parsePeerRecord(JSON.stringify({ train_s: 3 }), 60000)?.params).toBeNull();
  });

  it("warns when the peer's parameter counts differ from onebit's", () => {
    const same = { onebit: 10, onebitBinary: 8, peer: 10, peerBinary: 8 };
    expect(paramMismatch("birealnet", same)).toBe("");
    expect(paramMismatch("birealnet", { ...same, peer: null, peerBinary: null })).toBe("");
    expect(paramMismatch("birealnet", { ...same, peer: 12 })).toContain("not the same network");
    expect(paramMismatch("birealnet", { ...same, peerBinary: 4 })).toContain("(4 binary)");
  });
});

describe.skipIf(!hasTorch)("the residual twins (needs PyTorch for the Python found)", () => {
  const script = path.resolve("bench/peers/train_residual.py");
  const configs: [string, Record<string, unknown>][] = [
    ["birealnet", { width: 32, stages: [2, 2, 2] }],
    ["reactnet", { width: 8, stages: [1, 2, 1, 1], inputShape: [30, 30, 1] }],
    ["reactnet", { width: 8, stages: [1, 1], float: true }],
    ["quicknet", { width: 8, stages: [1, 1], inputShape: [112, 112, 3], classes: 7 }],
  ];

  it.each(configs)("%s %j: the twin's parameter counts are onebit's", async (name, options) => {
    const args = [script, "--model", name, "--summary", "--width", String(options.width)];
    args.push("--stages", (options.stages as number[]).join(","));
    if (options.inputShape) args.push("--input-shape", (options.inputShape as number[]).join(","));
    if (options.classes) args.push("--classes", String(options.classes));
    if (options.float) args.push("--float");
    const out = spawnSync(python, args, { encoding: "utf8" });
    expect(out.status, out.stderr).toBe(0);
    const twin = JSON.parse(out.stdout) as Record<string, number>;
    const ctx = await createContext("ref");
    const model = buildModel(ctx, { builder: name, options }, new Random(0));
    try {
      const counts = model.paramCounts();
      let all = 0;
      for (const t of model.namedTensors().values()) all += t.size;
      // params: trainable; summary_params adds BN running stats and blur kernels (PyTorch's
      // buffers without num_batches_tracked), which is what `onebit summary` counts.
      expect([twin.params, twin.binary_params, twin.summary_params]).toEqual([
        counts.binary + counts.float,
        counts.binary,
        all,
      ]);
    } finally {
      model.dispose();
    }
  });
});
