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
    .option("--threads <n>", "worker threads, where supported", positiveInt)
    .option("--limit <n>", "train on n images (bench train)", positiveInt)
    .option(
      "--peer <path>",
      "peer script, or 'none' to skip it (bench train); ort, tfjs, ort,tfjs or none (bench zoo)",
    )
    .option("--models <list>", "comma-separated model ids (bench zoo)")
    .option("--profile", "also time each engine layer, grouped by kind (bench zoo)", false)
    .option("--float", "also time the float path (bench train: binary layers' forward in float)", false)
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
