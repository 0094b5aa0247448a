/**
 * `onebit bench zoo --browser` on a tiny Bi-Real Net (32x32x3, stages [1, 1]): the page is
 * built, served cross-origin isolated and opened in Debian's Chromium; its engines get 1
 * and 2 threads, give Node's scores on the same bytes and image, and the report carries
 * Node ms, Chromium ms and their ratio per thread count, in the JSON, the table and the
 * targets. The float peer (a narrow ResNet-18 on tfjs-wasm) runs in the page too.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHROMIUM } from "../../src/bench/chromium.js";
import { formatZoo, parseZooArgs, runZoo, type ZooModel } from "../../src/bench/zoo.js";

describe("bench zoo --browser option", () => {
  it("is off by default and on with --browser", () => {
    expect(parseZooArgs({ json: false }).browser).toBe(false);
    expect(parseZooArgs({ json: false, browser: true }).browser).toBe(true);
  });
});

describe.skipIf(process.env.ONEBIT_SKIP_BROWSER === "1")("bench zoo --browser in Chromium", () => {
  it("a tiny Bi-Real Net in Node and Chromium, 1 and 2 threads, same scores, ratios and the tfjs peer reported", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    const tiny: ZooModel = {
      id: "bireal18",
      label: "tiny Bi-Real",
      builder: "birealnet",
      options: { stages: [1, 1], width: 16 },
      anchors: [],
    };
    const report = await runZoo({
      models: [tiny],
      threads: [1, 2],
      runs: 3,
      peers: ["tfjs"],
      profile: false,
      inputShape: [32, 32, 3],
      classes: 10,
      peerWidth: 8,
      browser: true,
    });
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(json.chromium!.isolated).toBe(true);
    expect(json.chromium!.backend).toMatch(/^wasm-/);
    expect(json.chromium!.version).toMatch(/^Chrome\/\d+/);
    expect(json.chromium!.note).toBeUndefined();
    expect(json.chromium!.tfjs_backend).toBe("wasm");
    const m = json.models[0]!;
    const c = m.chromium!;
    expect(c.same_class).toBe(true);
    expect(c.scores_max_relative_difference).toBeLessThan(1e-5);
    expect(c.runs.map((r) => [r.threads, r.chromium_threads])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(c.tfjs_wasm_ms).toBeGreaterThan(0);
    expect(c.runs[0]!.speedup_vs_tfjs).toBeCloseTo(c.tfjs_wasm_ms! / c.runs[0]!.chromium_ms, 12);
    expect(c.runs[1]!.speedup_vs_tfjs).toBeUndefined();
    for (const [i, r] of c.runs.entries()) {
      expect(r.node_ms).toBe(m.runs[i]!.ms);
      expect(r.chromium_ms).toBeGreaterThan(0);
      expect(r.chromium_vs_node).toBeCloseTo(r.node_ms / r.chromium_ms, 12);
    }
    expect(json.targets.filter((t) => t.what.includes("Chromium")).map((t) => t.what)).toEqual([
      "tiny Bi-Real Chromium / Node, 1 thread",
      "tiny Bi-Real Chromium / Node, 2 threads",
    ]);
    const text = formatZoo(report);
    for (const s of [
      "Chromium (Chrome/",
      "cross-origin isolated",
      "chromium ms",
      "chromium / node speed",
      "ResNet-18 float on tfjs (wasm, 1 thread)",
      "x tfjs",
    ])
      expect(text).toContain(s);
  }, 180_000);
});
