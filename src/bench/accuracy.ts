/**
 * `onebit bench accuracy`: the full training schedules behind issue 3's accuracy figures.
 * Trains each configuration from scratch with a fixed seed, one after the other, and writes
 * every result (last and best test accuracy, wall time, seconds per epoch) to
 * bench/results/accuracy-DATE.json as it goes, so a long run that is stopped keeps what it
 * finished. This is a benchmark, not a test: the full set takes hours on two cores.
 *
 *     onebit bench accuracy                      # the three headline runs
 *     ONEBIT_ACCURACY=all onebit bench accuracy  # plus xnor-cnn, bwn-cnn and the float twins
 *     ONEBIT_ACCURACY=mnist-bnn-cnn onebit bench accuracy   # one run by id
 *     ONEBIT_ACCURACY=side ONEBIT_ACCURACY_EPOCHS=10 ONEBIT_ACCURACY_WIDTH=1 onebit bench accuracy
 *     ONEBIT_ACCURACY=residual ONEBIT_ACCURACY_LIMIT=20000 onebit bench accuracy --threads 2
 *
 * `side` is the side-by-side set with bnn-cnn itself beside XNOR-Net, BWN and the float
 * twin (same schedule for all); `residual` is bnn-cnn, birealnet, reactnet and quicknet with
 * their float twins on both data sets, one schedule, with each model's binary and float MACs
 * and packed file size beside its accuracy. ONEBIT_ACCURACY_EPOCHS and ONEBIT_ACCURACY_WIDTH
 * shorten any selection (fewer epochs, narrower CNNs) when the full schedules do not fit the
 * time at hand: the run ids then say so (e.g. mnist-xnor-cnn-e10-w1) and targets do not
 * apply. ONEBIT_ACCURACY_LIMIT=N trains on the first N training images (ids get -nN); the
 * test set stays whole.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { summarizeCheckpoint } from "../analysis/summary.js";
import { type DatasetName, loadDataset } from "../data/index.js";
import { loadCheckpoint } from "../nn/checkpoint.js";
import type { ModelConfig } from "../nn/checkpointFormat.js";
import { createContext } from "../tensor/index.js";
import { type TrainConfig, train } from "../train/index.js";
import { type BenchOptions, environment, median, table } from "./util.js";

/** One training run of the accuracy table, with the figure to beat where the issue sets one. */
export interface AccuracyRun {
  id: string;
  dataset: DatasetName;
  config: TrainConfig;
  /** Test accuracy the issue asks for (last epoch), if any. */
  target?: number;
}

const cnnSchedule = { epochs: 20, batchSize: 64, lr: 2e-3, schedule: "cosine" as const, seed: 0 };
const shift = { shift: 2 };

/** The headline runs: the issue's three accuracy targets. */
export const HEADLINE_RUNS: AccuracyRun[] = [
  {
    id: "mnist-bnn-mlp",
    dataset: "mnist",
    target: 0.985,
    config: {
      model: { builder: "bnn-mlp", options: { width: 1024, dropout: 0.1 } },
      epochs: 30,
      batchSize: 100,
      lr: 3e-3,
      schedule: "cosine",
      augment: shift,
      seed: 0,
    },
  },
  {
    id: "mnist-bnn-cnn",
    dataset: "mnist",
    target: 0.992,
    config: {
      model: { builder: "bnn-cnn", options: { widthMultiplier: 2 } },
      ...cnnSchedule,
      augment: shift,
    },
  },
  {
    id: "fashion-bnn-cnn",
    dataset: "fashion-mnist",
    target: 0.91,
    config: { model: { builder: "bnn-cnn", options: { widthMultiplier: 2 } }, ...cnnSchedule },
  },
];

/** The side-by-side runs: XNOR-Net, BWN and the float twins on both data sets. */
export const COMPARISON_RUNS: AccuracyRun[] = (["mnist", "fashion-mnist"] as const).flatMap((dataset) =>
  (
    [
      ["xnor-cnn", {}],
      ["bwn-cnn", {}],
      ["bnn-cnn", { float: true }],
    ] as const
  ).map(([builder, extra]: readonly ["xnor-cnn" | "bwn-cnn" | "bnn-cnn", { float?: boolean }]) => ({
    id: `${dataset === "mnist" ? "mnist" : "fashion"}-${builder}${extra.float ? "-float" : ""}`,
    dataset,
    config: {
      model: { builder, options: { widthMultiplier: 2, ...extra } },
      ...cnnSchedule,
      ...(dataset === "mnist" ? { augment: shift } : {}),
    },
  })),
);

/** bnn-cnn on both data sets with the comparison runs' schedule, to stand beside them. */
const SIDE_BASELINES: AccuracyRun[] = COMPARISON_RUNS.filter((r) => r.id.endsWith("-float")).map((r) => ({
  ...r,
  id: r.id.replace(/-float$/, "-binary"),
  config: {
    ...r.config,
    model: { builder: "bnn-cnn", options: { widthMultiplier: 2 } },
  },
}));

/**
 * The residual side-by-side set (issue 14's table): `bnn-cnn`, `birealnet`, `reactnet` and
 * `quicknet`, binary and float twin, on both data sets, all with one schedule. The residual
 * nets are the builders' 28x28 defaults (width 32, stages 2,2,2); every run recomputes its
 * batch-norm statistics after each epoch (`bnCalibration`), which the residual nets need and
 * which leaves a chain's accuracy as it is.
 */
export const RESIDUAL_RUNS: AccuracyRun[] = (["mnist", "fashion-mnist"] as const).flatMap((dataset) =>
  (["bnn-cnn", "birealnet", "reactnet", "quicknet"] as const).flatMap((builder) =>
    [false, true].map((float) => ({
      id: `res-${dataset === "mnist" ? "mnist" : "fashion"}-${builder}${float ? "-float" : ""}`,
      dataset,
      config: {
        model: {
          builder,
          options: builder === "bnn-cnn" ? { widthMultiplier: 2, float } : { float },
        } as TrainConfig["model"],
        ...cnnSchedule,
        epochs: 10,
        augment: shift,
        bnCalibration: 2000,
      },
    })),
  ),
);

/**
 * The runs with epochs and/or the CNN width multiplier overridden (a shortened schedule):
 * ids get -eN / -wM, the cosine schedule spans the new epoch count, and no target applies.
 */
export function shortened(runs: AccuracyRun[], epochs?: number, width?: number): AccuracyRun[] {
  if (epochs === undefined && width === undefined) return runs;
  for (const [name, v] of [
    ["ONEBIT_ACCURACY_EPOCHS", epochs],
    ["ONEBIT_ACCURACY_WIDTH", width],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
  }
  return runs.map((r) => {
    const model = r.config.model as ModelConfig;
    const options = { ...model.options };
    const cnn = model.builder !== "bnn-mlp";
    const residual = RESIDUAL_BUILDERS.has(model.builder);
    if (width !== undefined && cnn) {
      // The residual builders' width is their first-stage channels, not a multiplier.
      if (residual) options.width = width;
      else options.widthMultiplier = width;
    }
    return {
      id: `${r.id}${epochs !== undefined ? `-e${epochs}` : ""}${width !== undefined && cnn ? `-w${width}` : ""}`,
      dataset: r.dataset,
      config: {
        ...r.config,
        epochs: epochs ?? r.config.epochs,
        model: { ...model, options } as TrainConfig["model"],
      },
    };
  });
}

const RESIDUAL_BUILDERS = new Set(["birealnet", "reactnet", "quicknet"]);

export function selectRuns(selector: string | undefined): AccuracyRun[] {
  const all = [...HEADLINE_RUNS, ...COMPARISON_RUNS, ...RESIDUAL_RUNS];
  if (!selector || selector === "headline") return HEADLINE_RUNS;
  if (selector === "all") return [...HEADLINE_RUNS, ...COMPARISON_RUNS];
  if (selector === "residual") return RESIDUAL_RUNS;
  if (selector === "side") {
    return (["mnist", "fashion"] as const).flatMap((ds) => [
      ...SIDE_BASELINES.filter((r) => r.id.startsWith(`${ds}-`)),
      ...COMPARISON_RUNS.filter((r) => r.id.startsWith(`${ds}-`)),
    ]);
  }
  const ids = selector.split(",");
  const runs = all.filter((r) => ids.includes(r.id));
  const unknown = ids.filter((id) => !all.some((r) => r.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown accuracy run(s) ${unknown.join(", ")}; choose from ${all.map((r) => r.id).join(", ")}`,
    );
  }
  return runs;
}

export async function run(options: BenchOptions): Promise<void> {
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  const limit = num(process.env.ONEBIT_ACCURACY_LIMIT);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`ONEBIT_ACCURACY_LIMIT must be a positive integer, got ${limit}`);
  }
  const runs = shortened(
    selectRuns(process.env.ONEBIT_ACCURACY),
    num(process.env.ONEBIT_ACCURACY_EPOCHS),
    num(process.env.ONEBIT_ACCURACY_WIDTH),
  ).map((r) => (limit === undefined ? r : { ...r, id: `${r.id}-n${limit}`, target: undefined }));
  const outDir = path.resolve("bench", "results");
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `accuracy-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const results: Record<string, unknown>[] = [];
  const env = environment();
  const threads = options.threads ?? 1;
  for (const r of runs) {
    const data = await loadDataset(r.dataset, { limitTrain: limit });
    const ctx = await createContext("wasm", { threads });
    const t0 = performance.now();
    const result = await train({
      ctx,
      data,
      config: r.config,
      outDir: path.join("runs", "bench-accuracy", r.id),
      progress: process.stderr.isTTY ? "bar" : "lines",
    });
    const wall = (performance.now() - t0) / 1000;
    const summary = result.checkpoint
      ? (await summarizeCheckpoint(await loadCheckpoint(result.checkpoint), result.checkpoint)).totals
      : null;
    results.push({
      id: r.id,
      dataset: r.dataset,
      model: r.config.model,
      epochs: r.config.epochs,
      schedule: {
        lr: r.config.lr,
        kind: r.config.schedule,
        batch: r.config.batchSize,
        augment: r.config.augment,
      },
      seed: r.config.seed,
      test_accuracy: result.testAccuracy,
      best_test_accuracy: result.bestTestAccuracy,
      target: r.target ?? null,
      met: r.target === undefined ? null : result.testAccuracy >= r.target,
      wall_seconds: Math.round(wall),
      epoch_seconds_median: median(result.epochSeconds),
      train_images: data.train.count,
      threads,
      params: result.params,
      macs: summary?.macs ?? null,
      file_bytes: summary?.fileBytes ?? null,
      history: result.history,
    });
    result.model.dispose();
    // Each run's context owns a heap and (with threads) a worker pool that holds it: without
    // this, 16 residual runs in one process grew to 24 GB and the OS killed it.
    ctx.dispose();
    writeFileSync(file, `${JSON.stringify({ environment: env, results }, null, 2)}\n`);
    process.stderr.write(`accuracy: ${r.id} ${(100 * result.testAccuracy).toFixed(2)}% -> ${file}\n`);
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, results, file })}\n`);
    return;
  }
  const pct = (x: unknown) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "-");
  process.stdout.write(
    `${table(
      [
        "run",
        "epochs",
        "test acc (last)",
        "best",
        "target",
        "binary MACs",
        "float MACs",
        "file KB",
        "s/epoch",
        "wall s",
      ],
      results.map((x) => {
        const macs = x.macs as { binary: number; float: number } | null;
        const bytes = x.file_bytes as number | null;
        return [
          x.id as string,
          x.epochs as number,
          pct(x.test_accuracy),
          pct(x.best_test_accuracy),
          pct(x.target),
          macs ? macs.binary.toLocaleString("en-US") : "-",
          macs ? macs.float.toLocaleString("en-US") : "-",
          bytes === null ? "-" : (bytes / 1024).toFixed(1),
          x.epoch_seconds_median as number,
          x.wall_seconds as number,
        ];
      }),
    )}\ns/epoch: median seconds per epoch of ${[...new Set(results.map((x) => x.train_images))].join(" / ")} training images on ${threads} thread(s)\nresults: ${file}\n`,
  );
}
