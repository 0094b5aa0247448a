/**
 * `onebit bench NAME`: benchmarks that compare onebit with its peers in the same run.
 * Each benchmark lives in src/bench/NAME.ts and exports `run(options)`; it prints a table,
 * or one JSON object with --json.
 */
import type { Command } from "commander";

export interface BenchOptions {
  json: boolean;
  runs?: number;
  threads?: number;
}

type BenchRunner = (options: BenchOptions) => Promise<void>;

const benches: Record<string, { about: string; load: () => Promise<BenchRunner> }> = {};

/** Adds a benchmark to `onebit bench`. */
export function defineBench(name: string, about: string, load: () => Promise<BenchRunner>): void {
  benches[name] = { about, load };
}

export function register(program: Command): void {
  program
    .command("bench")
    .description("run a benchmark against its peer in the same run")
    .argument("<name>", "benchmark name (see the list below)")
    .option("--json", "print one JSON object instead of a table", false)
    .option("--runs <n>", "timed runs per case (the median is reported)", (v) => Number.parseInt(v, 10))
    .action(async (name: string, opts: { json: boolean; runs?: number }) => {
      const bench = benches[name];
      if (!bench) {
        throw new Error(
          `unknown benchmark '${name}'; choose one of: ${Object.keys(benches).join(", ") || "(none)"}`,
        );
      }
      const run = await bench.load();
      await run({ json: opts.json, runs: opts.runs });
    });
}
