/**
 * train() and the builders refuse bad options before any work, with an OptionsError whose
 * message names the entry point and the option: no "test accuracy NaN%" after 0 epochs, no
 * silent default for a typo, no "Heap.alloc: bad size" for a negative width.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataSplits, Dataset } from "../../src/data/index.js";
import { OnebitError, OptionsError } from "../../src/errors.js";
import { buildModel } from "../../src/nn/build.js";
import { builderSpec } from "../../src/nn/builders.js";
import { type Context, createContext } from "../../src/tensor/index.js";
import { type TrainConfig, train } from "../../src/train/index.js";
import { Random } from "../../src/util/random.js";

let ctx: Context;
let tmp: string;
beforeAll(async () => {
  ctx = await createContext("ref");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-options-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dataset(name: string, n: number): Dataset {
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const images = new Uint8Array(n * 36);
  for (let i = 0; i < n; i++) images[i * 36 + labels[i]!] = 255;
  const classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
  return { name, images, labels, count: n, height: 6, width: 6, channels: 1, classes };
}
const data: DataSplits = {
  name: "tiny",
  train: dataset("tiny/train", 20),
  test: dataset("tiny/test", 10),
  classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  preprocessing: { scale: 1 / 127.5, offset: -1 },
};
const good: TrainConfig = {
  model: { builder: "bnn-mlp", options: { width: 8, depth: 1 } },
  epochs: 1,
  batchSize: 10,
  lr: 1e-2,
};

async function refused(config: unknown, extra: object = {}): Promise<OptionsError> {
  const outDir = path.join(tmp, `run-${Math.random().toString(36).slice(2)}`);
  const err = await train({
    ctx,
    data,
    config: config as TrainConfig,
    outDir,
    progress: "quiet",
    ...extra,
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OptionsError);
  expect(err).toBeInstanceOf(OnebitError);
  // Refused before anything was written.
  expect(fs.existsSync(outDir)).toBe(false);
  return err as OptionsError;
}

describe("train() checks its config", () => {
  it("epochs: -1, 0, 'abc', 1.5 and a missing value are refused, naming epochs", async () => {
    for (const epochs of [-1, 0, "abc", 1.5, Number.NaN, undefined]) {
      const e = await refused({ ...good, epochs });
      expect(e.option).toBe("epochs");
      expect(e.message).toMatch(
        epochs === undefined
          ? /^train: epochs is required$/
          : /^train: epochs must be a positive integer, got /,
      );
    }
    expect((await refused({ ...good, epochs: "abc" })).message).toBe(
      'train: epochs must be a positive integer, got "abc"',
    );
  });

  it("batchSize, lr, seed, schedule, optimizer, loss, decay, momentum, augment", async () => {
    const cases: [Partial<Record<keyof TrainConfig, unknown>>, string, RegExp][] = [
      [{ batchSize: 0 }, "batchSize", /batchSize must be a positive integer, got 0/],
      [{ batchSize: 2.5 }, "batchSize", /batchSize must be a positive integer, got 2.5/],
      [{ lr: 0 }, "lr", /lr must be a finite number > 0, got 0/],
      [{ lr: Number.POSITIVE_INFINITY }, "lr", /lr must be a finite number > 0, got Infinity/],
      [{ lr: "0.1" }, "lr", /lr must be a finite number > 0, got "0.1"/],
      [{ seed: -1 }, "seed", /seed must be an integer >= 0, got -1/],
      [
        { schedule: "linear" },
        "schedule",
        /schedule must be one of "constant", "exponential", "step", "cosine"/,
      ],
      [{ optimizer: "rmsprop" }, "optimizer", /optimizer must be one of "adam", "sgd", "bop", got "rmsprop"/],
      [{ loss: "mse" }, "loss", /loss must be one of "cross-entropy", "squared-hinge", got "mse"/],
      [{ decay: 0 }, "decay", /decay must be a finite number > 0, got 0/],
      [
        { schedule: "cosine", decay: 0.5 },
        "decay",
        /decay applies to the exponential and step schedules only/,
      ],
      [
        { stepEpochs: 2 },
        "stepEpochs",
        /stepEpochs applies to the step schedule only, not to the exponential/,
      ],
      [{ momentum: 0.9 }, "momentum", /momentum applies to the sgd optimizer only, not to adam/],
      [{ optimizer: "sgd", momentum: 1 }, "momentum", /momentum must be a number in \[0, 1\), got 1/],
      [{ augment: { shift: -1 } }, "augment.shift", /augment.shift must be an integer from 0 to 64, got -1/],
      [{ augment: { flip: 1 } }, "augment.flip", /augment.flip must be one of true, false, got 1/],
      [
        { augment: { shfit: 2 } },
        "shfit",
        /train: augment: unknown option 'shfit' \(did you mean 'shift'\?\)/,
      ],
      [{ model: "bnn-mlp" }, "model", /model must be a model spec or a builder config/],
    ];
    for (const [change, option, message] of cases) {
      const e = await refused({ ...good, ...change });
      expect(e.option, JSON.stringify(change)).toBe(option);
      expect(e.message).toMatch(message);
    }
  });

  it("an unknown key is refused with the closest known name or a hint", async () => {
    expect((await refused({ ...good, epcohs: 2 })).message).toBe(
      "train: unknown option 'epcohs' (did you mean 'epochs'?); the options are model, epochs, batchSize, lr, schedule, decay, stepEpochs, optimizer, momentum, loss, seed, augment, distillation, bnCalibration",
    );
    expect((await refused({ ...good, batch: 10 })).message).toMatch(
      /unknown option 'batch' \(did you mean 'batchSize'\?\)/,
    );
    expect((await refused({ ...good, learningRate: 1 })).message).toMatch(/the learning rate is 'lr'/);
    // The run's own options too.
    expect((await refused(good, { outdir: "x" })).message).toMatch(
      /train: unknown option 'outdir' \(did you mean 'outDir'\?\)/,
    );
    expect((await refused(good, { maxEpochsThisRun: 0 })).option).toBe("maxEpochsThisRun");
    expect((await refused(good, { progress: "loud" })).option).toBe("progress");
  });

  it("a good config trains and reports the checkpoint it wrote", async () => {
    const outDir = path.join(tmp, "good");
    const r = await train({ ctx, data, config: good, outDir, progress: "quiet" });
    expect(r.history).toHaveLength(1);
    expect(r.checkpoint && fs.existsSync(r.checkpoint)).toBe(true);
    r.model.dispose();
  });
});

describe("builder options", () => {
  const build = (builder: string, options: unknown) => () =>
    buildModel(ctx, { builder, options } as never, new Random(0));
  const refuses = (builder: string, options: unknown, option: string, message: RegExp) => {
    let err: unknown;
    try {
      build(builder, options)();
    } catch (e) {
      err = e;
    }
    expect(err, `${builder} ${JSON.stringify(options)}`).toBeInstanceOf(OptionsError);
    expect((err as OptionsError).where).toBe(builder);
    expect((err as OptionsError).option).toBe(option);
    expect((err as Error).message).toMatch(message);
  };

  it("an unknown key is refused naming the builder, with a did-you-mean", () => {
    refuses(
      "bnn-mlp",
      { widht: 64 },
      "widht",
      /^bnn-mlp: unknown option 'widht' \(did you mean 'width'\?\); the options are /,
    );
    refuses(
      "birealnet",
      { widht: 64 },
      "widht",
      /^birealnet: unknown option 'widht' \(did you mean 'width'\?\)/,
    );
    refuses("bnn-mlp", { stages: [2] }, "stages", /stages is an option of birealnet, reactnet and quicknet/);
  });

  it("width on a CNN builder points at widthMultiplier (the CLI's --width)", () => {
    for (const builder of ["bnn-cnn", "xnor-cnn", "bwn-cnn"]) {
      refuses(
        builder,
        { width: 2 },
        "width",
        new RegExp(
          `^${builder}: unknown option 'width' \\(the CNN builders scale their filters with 'widthMultiplier' \\(the CLI's --width\\)\\)`,
        ),
      );
    }
    refuses(
      "bnn-mlp",
      { widthMultiplier: 2 },
      "widthMultiplier",
      /bnn-mlp sets its hidden units with 'width'/,
    );
  });

  it("bad values are refused naming the builder and the option", () => {
    refuses("bnn-mlp", { width: -5 }, "width", /^bnn-mlp: width must be a positive integer, got -5$/);
    refuses("bnn-mlp", { width: 0 }, "width", /width must be a positive integer, got 0/);
    refuses("bnn-mlp", { width: 10.5 }, "width", /width must be a positive integer, got 10.5/);
    refuses("bnn-mlp", { depth: 0 }, "depth", /depth must be an integer from 1 to 1000, got 0/);
    refuses("bnn-mlp", { dropout: 1 }, "dropout", /dropout must be a number in \[0, 1\), got 1/);
    refuses("bnn-mlp", { classes: 0 }, "classes", /classes must be a positive integer, got 0/);
    refuses("bnn-mlp", { float: "yes" }, "float", /float must be one of true, false, got "yes"/);
    refuses(
      "bnn-cnn",
      { widthMultiplier: -1 },
      "widthMultiplier",
      /widthMultiplier must be a positive number/,
    );
    refuses("bnn-cnn", { widthMultiplier: 0.3 }, "widthMultiplier", /32 x widthMultiplier whole/);
    refuses(
      "bnn-cnn",
      { inputShape: [28, 28] },
      "inputShape",
      /inputShape must be \[height, width, channels\]/,
    );
    refuses("bnn-cnn", { padValue: 2 }, "padValue", /padValue must be one of -1, 0, 1, got 2/);
    refuses("bnn-cnn", { first: "half" }, "first", /first must be 'float', 'bwn' or 'binary', got "half"/);
    refuses("quicknet", { width: -5 }, "width", /^quicknet: width must be a positive multiple of 4, got -5$/);
    refuses("reactnet", { momentum: 1 }, "momentum", /momentum must be a number in \[0, 1\), got 1/);
    refuses(
      "birealnet",
      { inputShape: "28x28" },
      "inputShape",
      /inputShape must be \[height, width, channels\]/,
    );
  });

  it("the config itself: an unknown builder, options that are no object, a stray key", () => {
    expect(build("resnet", {})).toThrow(OptionsError);
    expect(build("resnet", {})).toThrow(/unknown model 'resnet'; choose one of: bnn-mlp/);
    expect(build("bnn-mlp", [1])).toThrow(/^bnn-mlp: options must be an object, got \[1\]$/);
    expect(() => builderSpec({ builder: "bnn-mlp", options: {}, width: 3 } as never)).toThrow(
      /^bnn-mlp: unknown option 'width'; the options are builder, options$/,
    );
  });

  it("good options still build, fractional CNN multipliers included", () => {
    expect(
      builderSpec({ builder: "bnn-cnn", options: { widthMultiplier: 0.5 } }).layers[0]!.config.filters,
    ).toBe(16);
    expect(builderSpec({ builder: "bnn-mlp" }).name).toBe("bnn-mlp");
    expect(
      builderSpec({ builder: "xnor-cnn", options: { scaling: "xnor-weights", padValue: -1 } }).name,
    ).toBe("xnor-cnn");
  });
});
