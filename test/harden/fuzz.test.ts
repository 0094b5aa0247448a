/**
 * The short fuzz run of `npm test` (the long one: `npm run fuzz`, scripts/fuzz.mjs): every
 * loader, fed truncations and fast-check mutations of valid files, ends in success or its
 * typed error naming the file, within the time bound and without unbounded allocation.
 * A failing case is shrunk by fast-check to a minimal mutation plan.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMutation,
  type Lib,
  loadSeeds,
  makeTargets,
  mutationArb,
  runCase,
  type Seed,
  Tally,
  type Targets,
  truncations,
} from "../../scripts/fuzz/harness.mjs";
import { DataError, parseCifar10, readIdx } from "../../src/data/index.js";
import { decodeModel, Engine, ModelFormatError } from "../../src/engine/index.js";
import { buildModel } from "../../src/nn/build.js";
import { checkCheckpointModel, loadIntoModel } from "../../src/nn/checkpoint.js";
import { CheckpointError, decodeCheckpoint } from "../../src/nn/checkpointFormat.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

const seeds = loadSeeds(path.join(import.meta.dirname, "seeds"));
let tmp: string;
let targets: Targets;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-fuzz-test-"));
  const lib: Lib = {
    decodeModel,
    ModelFormatError,
    Engine,
    decodeCheckpoint,
    CheckpointError,
    checkCheckpointModel,
    buildModel,
    loadIntoModel,
    Random,
    ctx: await createContext("ref"),
    readIdx,
    parseCifar10,
    DataError,
  };
  targets = makeTargets(lib, tmp);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Cases per seed: about 3,000 mutations in all. */
const RUNS = Math.ceil(3000 / seeds.length);

describe("seeds", () => {
  it("are all valid files of every format", async () => {
    expect(new Set(seeds.map((s) => s.format))).toEqual(new Set(["onebit", "checkpoint", "idx", "cifar"]));
    for (const s of seeds) {
      const r = await runCase(targets, s, s.bytes);
      expect(r.outcome, `${s.name}: ${r.detail}`).toBe("ok");
    }
  });
});

/**
 * Cuts that leave a valid file: CIFAR has no header, so a cut between records is a shorter
 * batch; a checkpoint cut inside the zero padding after its last tensor loses no data.
 */
function stillWhole(seed: Seed, at: number): boolean {
  if (seed.format === "cifar") return at > 0 && at % 3073 === 0;
  if (seed.format !== "checkpoint") return false;
  const headerEnd = 16 + new DataView(seed.bytes.buffer).getUint32(12, true);
  const table = JSON.parse(new TextDecoder().decode(seed.bytes.subarray(16, headerEnd))).tensors as {
    offset: number;
    length: number;
  }[];
  return at >= headerEnd + Math.max(...table.map((t) => t.offset + 4 * t.length));
}

describe.each(seeds.map((s) => [s.name, s] as [string, Seed]))("%s under attack", (_name, seed) => {
  it("every truncation is a typed error naming the file", async () => {
    // Every offset of the small seeds; every 17th of the checkpoints (the script does all).
    const stride = seed.bytes.length > 30_000 ? 17 : 1;
    const tally = new Tally();
    let whole = 0;
    for (const { at, bytes } of truncations(seed, stride)) {
      tally.add(await runCase(targets, seed, bytes), `truncated to ${at}`);
      if (stillWhole(seed, at)) whole++;
    }
    expect(tally.examples).toEqual([]);
    expect(tally.counts.ok).toBe(whole);
    expect(tally.counts["typed-error"]).toBe(tally.total - whole);
  });

  it(`${RUNS} fast-check mutations end in success or a typed error`, async () => {
    await fc.assert(
      fc.asyncProperty(mutationArb(seed), async (plan) => {
        const r = await runCase(targets, seed, applyMutation(seed, plan));
        expect(["ok", "typed-error"], r.detail).toContain(r.outcome);
      }),
      { numRuns: RUNS, seed: 20261126 },
    );
  });
});

describe("the harness", () => {
  it("flags an untyped error, a message without the file, and a huge allocation", async () => {
    const seed = seeds.find((s) => s.format === "cifar")!;
    const make = (load: (bytes: Uint8Array, file: string) => unknown) =>
      ({ cifar: { error: DataError, load } }) as unknown as Targets;
    const untyped = await runCase(
      make(() => {
        throw new TypeError("x is undefined");
      }),
      seed,
      seed.bytes,
    );
    expect(untyped.outcome).toBe("crash");
    const unnamed = await runCase(
      make(() => {
        throw new DataError("somewhere-else", "bad");
      }),
      seed,
      seed.bytes,
    );
    expect(unnamed.outcome).toBe("crash");
    const hog = await runCase(
      make((bytes) => new Float64Array(bytes.length * 256)),
      seed,
      seed.bytes,
    );
    expect(hog.outcome).toBe("unbounded-alloc");
  });
});
