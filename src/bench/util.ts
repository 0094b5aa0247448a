/** Shared benchmark helpers: timing, medians, environment, tables. */
import os from "node:os";

export interface BenchOptions {
  /** Print one JSON object instead of a table. */
  json: boolean;
  /** Timed runs per case; the median is reported. */
  runs?: number;
  /** Worker threads (where a benchmark supports it). */
  threads?: number;
  /** Train on this many images (bench train). */
  limit?: number;
  /** Path of the peer script, or "none" to skip it (bench train). */
  peer?: string;
  /** Also time the float path where a benchmark has one (bench train: float forward). */
  float?: boolean;
  /** Comma-separated model ids (bench zoo). */
  models?: string;
  /** Also time each engine layer (bench zoo). */
  profile?: boolean;
  /** Also run in Chromium (bench zoo). */
  browser?: boolean;
  /** Models to time, comma-separated (bench train: mlp, cnn, birealnet, reactnet, quicknet). */
  model?: string;
  /** Channels of the first stage of the residual models (bench train). */
  width?: number;
  /** Blocks per stage of the residual models, comma-separated (bench train). */
  stages?: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Times `fn` (sync or async): `warmup` untimed calls, then `runs` timed ones. Each timed
 * run repeats `fn` until at least `minMs` has passed and reports milliseconds per call.
 * Returns the per-call times of each run.
 */
export async function timeRuns(
  fn: () => unknown,
  { runs = 5, warmup = 1, minMs = 50 }: { runs?: number; warmup?: number; minMs?: number } = {},
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      await fn();
      calls++;
      t = performance.now();
    } while (t - t0 < minMs);
    out.push((t - t0) / calls);
  }
  return out;
}

/** Machine facts printed with every benchmark. */
export function environment(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    loadavg1: Number(os.loadavg()[0]!.toFixed(2)),
    date: new Date().toISOString(),
  };
}

/** Formats rows as an aligned text table. */
/** The environment as "key: value" lines, the heading of a benchmark's table. */
export function formatEnvironment(env: Record<string, string | number>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
}

export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: readonly string[]) => r.map((c, i) => String(c).padStart(widths[i]!)).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}
