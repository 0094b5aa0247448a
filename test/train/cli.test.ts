import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { register as registerEval } from "../../src/cli/commands/eval.js";
import { register as registerModels } from "../../src/cli/commands/models.js";
import { register as registerTrain } from "../../src/cli/commands/train.js";
import { runCli } from "../cliHarness.js";

/** Runs `onebit ARGS` in-process and returns what it wrote to stdout and stderr. */
function onebit(...args: string[]): Promise<{ out: string; err: string }> {
  return runCli([registerTrain, registerEval, registerModels], args);
}

afterEach(() => vi.restoreAllMocks());

describe("onebit CLI", () => {
  it("models lists the builders", async () => {
    const { out } = await onebit("models", "--json");
    expect(JSON.parse(out).map((b: { name: string }) => b.name)).toEqual([
      "bnn-mlp",
      "bnn-cnn",
      "xnor-cnn",
      "bwn-cnn",
      "birealnet",
      "reactnet",
      "quicknet",
    ]);
  });

  it("train --json prints one JSON object on stdout, progress on stderr; eval reads the checkpoint", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-cli-"));
    const common = ["--dataset", "mnist", "--limit-train", "500", "--limit-test", "300", "--out", dir];
    const { out, err } = await onebit(
      "train",
      "--model",
      "bnn-mlp",
      "--width",
      "32",
      "--epochs",
      "2",
      ...common,
      "--json",
    );
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]!);
    expect(Object.keys(r)).toEqual([
      "model",
      "dataset",
      "epochs",
      "test_accuracy",
      "best_test_accuracy",
      "epoch_seconds_median",
      "samples_per_second",
      "params",
    ]);
    expect(r).toMatchObject({
      model: "bnn-mlp",
      dataset: "mnist",
      epochs: 2,
      params: { binary: 784 * 32 + 2 * 32 * 32 },
    });
    expect(r.best_test_accuracy).toBeGreaterThanOrEqual(r.test_accuracy);
    expect(err).toMatch(/epoch 2\/2/);

    const ev = await onebit("eval", path.join(dir, "last.ckpt"), "--json", "--limit-test", "300");
    const e = JSON.parse(ev.out);
    expect(e).toMatchObject({ model: "bnn-mlp", dataset: "mnist", epoch: 2, count: 300 });
    expect(e.test_accuracy).toBe(r.test_accuracy);

    // --resume with more epochs continues from epoch 2; another model is refused.
    const more = await onebit(
      "train",
      "--model",
      "bnn-mlp",
      "--epochs",
      "3",
      ...common,
      "--resume",
      "--json",
    );
    expect(JSON.parse(more.out).epochs).toBe(3);
    await expect(
      onebit("train", "--model", "bnn-cnn", "--epochs", "4", ...common, "--resume"),
    ).rejects.toThrow(/holds a 'bnn-mlp' model, cannot resume it as 'bnn-cnn'/);
  });

  it("names bad arguments", async () => {
    await expect(onebit("train", "--model", "nope", "--dataset", "mnist")).rejects.toThrow(
      /unknown model 'nope'/,
    );
    await expect(onebit("train", "--model", "bnn-mlp", "--dataset", "svhn")).rejects.toThrow(
      /unknown dataset 'svhn'/,
    );
    await expect(
      onebit("train", "--model", "bnn-mlp", "--dataset", "mnist", "--schedule", "linear"),
    ).rejects.toThrow(/unknown schedule 'linear'/);
  });

  it("number options take exactly a number of their kind: --epochs 1.5, abc, 0 are errors", async () => {
    const train = (...args: string[]) => onebit("train", "--model", "bnn-mlp", "--dataset", "mnist", ...args);
    for (const bad of ["1.5", "abc", "0", "-1", "2e3", ""]) {
      await expect(train("--epochs", bad), bad).rejects.toThrow(
        `option '--epochs <n>' argument '${bad}' is invalid. expected a positive whole number.`,
      );
    }
    await expect(train("--batch", "10x")).rejects.toThrow(/--batch <n>' argument '10x' is invalid/);
    await expect(train("--lr", "fast")).rejects.toThrow(
      "option '--lr <x>' argument 'fast' is invalid. expected a finite number.",
    );
    await expect(train("--seed", "-3")).rejects.toThrow(
      /argument '-3' is invalid. expected a whole number >= 0/,
    );
    // A bad value the parser lets through reaches the builder's check, which names it.
    await expect(train("--width", "-5", "--limit-train", "10", "--limit-test", "10")).rejects.toThrow(
      /bnn-mlp: width must be a positive integer, got -5/,
    );
    await expect(
      train(
        "--model",
        "bnn-cnn",
        "--schedule",
        "cosine",
        "--decay",
        "0.5",
        "--limit-train",
        "10",
        "--limit-test",
        "10",
      ),
    ).rejects.toThrow(/train: decay applies to the exponential and step schedules only/);
  });
});
