/**
 * `onebit bench NAME`: benchmarks that compare onebit with its peers in the same run
 * (registered in src/bench/registry.ts).
 */
import type { Command } from "commander";
import { requirePeers } from "../../bench/peers.js";
import { benches } from "../../bench/registry.js";
import type { BenchOptions } from "../../bench/util.js";
import { positiveInt } from "../args.js";

export function register(program: Command): void {
  program
    .command("bench")
    .description("run a benchmark against its peer in the same run")
    .argument("<name>", "benchmark name")
    .option("--json", "print one JSON object instead of a table", false)
    .option("--runs <n>", "timed runs per case (the median is reported)", positiveInt)
    .option(
      "--threads <n>",
      "worker threads, where supported (bench train: mlp/cnn default all cores, residual models 2)",
      positiveInt,
    )
    .option(
      "--limit <n>",
      "train on n images, epoch times extrapolated to 60000 (bench train; the residual models' peer too)",
      positiveInt,
    )
    .option(
      "--peer <path>",
      "bench train: peer script for every model, or 'none' to skip PyTorch (default bench/peers/train_bnn.py, train_residual.py); bench zoo: ort, tfjs, ort,tfjs or none",
    )
    .option("--models <list>", "comma-separated model ids (bench zoo)")
    .option("--profile", "also time each engine layer, grouped by kind (bench zoo)", false)
    .option(
      "--browser",
      "bench zoo: also run each model in Debian's Chromium, same bytes, same rounds, 1 and N threads",
      false,
    )
    .option("--float", "also time the float path (bench train: binary layers' forward in float)", false)
    .option(
      "--model <list>",
      "bench train: models, comma-separated, of mlp, cnn, birealnet, reactnet, quicknet (default mlp,cnn)",
    )
    .option("--width <n>", "bench train: residual models' first-stage channels (default 32)", positiveInt)
    .option("--stages <list>", "bench train: residual models' blocks per stage, e.g. 2,2,2 (the default)")
    .addHelpText(
      "after",
      () =>
        `\nBenchmarks:\n${Object.entries(benches)
          .map(([k, v]) => `  ${k.padEnd(12)} ${v.about}`)
          .join("\n")}`,
    )
    .action(async (name: string, opts: Omit<BenchOptions, "json"> & { json: boolean }) => {
      const bench = benches[name];
      if (!bench) {
        throw new Error(
          `unknown benchmark '${name}'; choose one of: ${Object.keys(benches).join(", ") || "(none)"}`,
        );
      }
      await requirePeers(name, bench.needs ?? {});
      const mod = await bench.load();
      await mod.run(opts);
    });
}
