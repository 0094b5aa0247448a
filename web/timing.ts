/**
 * Timing inside the page, the same procedure as the Node benchmarks' timeRuns
 * (src/bench/util.ts): `warmup` untimed calls, then `runs` timed runs, each repeating the
 * call until `minMs` has passed; returns milliseconds per call of each run.
 */
export function timeCalls(
  fn: () => unknown,
  { runs = 5, warmup = 1, minMs = 50 }: { runs?: number; warmup?: number; minMs?: number } = {},
): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      fn();
      calls++;
      t = performance.now();
    } while (t - t0 < minMs);
    out.push((t - t0) / calls);
  }
  return out;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
