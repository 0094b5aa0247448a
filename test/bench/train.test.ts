/**
 * `bench train`'s side of the contract with its PyTorch peer (bench/peers/train_bnn.py):
 * the peer ships in the repository, gets the same model config as onebit's side, prints the
 * JSON fields the bench reads, and a missing torch is reported with what to install. The
 * run of the peer itself needs Debian's python3-torch and is skipped without it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { MODELS, peerArgs, peerFailure, peerScript, pythonPath } from "../../src/bench/train.js";
import { mnistDataDir } from "../../src/data/index.js";

const hasTorch = spawnSync(pythonPath(), ["-c", "import torch"], { stdio: "ignore" }).status === 0;

describe("bench train peer", () => {
  it("defaults to the script in bench/peers; --peer none skips it", () => {
    vi.stubEnv("ONEBIT_PEER", "");
    const script = peerScript(undefined)!;
    expect(path.relative(process.cwd(), script)).toBe(path.join("bench", "peers", "train_bnn.py"));
    expect(existsSync(script)).toBe(true);
    expect(peerScript("none")).toBeNull();
    vi.unstubAllEnvs();
  });

  it("says what to install when torch is missing", () => {
    const stderr = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n";
    expect(peerFailure("train_bnn.py", 1, stderr)).toContain("apt-get install -y python3-torch");
    expect(peerFailure("train_bnn.py", 2, "error: bad option\n")).toBe(
      "train_bnn.py failed: error: bad option",
    );
  });

  it.skipIf(!hasTorch)("trains each model one short epoch and prints the fields the bench reads", () => {
    for (const m of MODELS) {
      const args = [
        ...peerArgs(peerScript("bench/peers/train_bnn.py")!, m),
        "--limit",
        "256",
        "--limit-test",
        "100",
      ];
      const run = spawnSync(pythonPath(), args, {
        encoding: "utf8",
        env: { ...process.env, MNIST_DIR: mnistDataDir() },
      });
      expect(run.status, run.stderr).toBe(0);
      const record = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
      const { first, last } = (m.config.options ?? {}) as { first?: string; last?: string };
      expect(record).toMatchObject({
        model: m.config.builder,
        batch: m.batchSize,
        first,
        last,
        float: false,
      });
      for (const key of ["train_s", "cpu_s", "load1", "test_acc"]) expect(typeof record[key]).toBe("number");
      expect(typeof record.torch).toBe("string");
    }
  });
});
