/**
 * `onebit bench zoo --browser`: the zoo models in Debian's Chromium beside Node, in the
 * same run. The page (zoo-browser-page.ts, bundled by Vite) is served cross-origin
 * isolated, so its engines get worker threads as Node's do. Each model's `.onebit` bytes
 * (the very bytes Node's engines load) and the input image are served from memory; the
 * page loads one engine per thread count and times one batch-1 predict per call inside
 * the page (performance.now() is 5 us fine in an isolated page), so the round trip
 * between Node and the page is not in the figures. The bench calls these timed functions
 * in the same rounds as Node's engines and the peers (round-robin), so load drift on a
 * shared machine hits both; each side reports its median over the rounds. With the tfjs
 * peer, the page also runs the float ResNet-18 on tfjs-backend-wasm (zoo-browser-tfjs.ts,
 * one thread, the same weights as in Node) in the same rounds.
 *
 *     const chromium = await ChromiumZoo.open(image, { inputShape, classes, width }); // or no tfjs peer
 *     const m = await chromium.load("quicknet", bytes, [1, 2], nodeScores);
 *     // time m.timed[i]() in the bench's rounds, then
 *     m.result(nodeMs, runs);    // per thread count: node ms, chromium ms, speed ratio
 *     await chromium.close();
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { CHROMIUM, ISOLATION_HEADERS, openServedPage, ROOT } from "./chromium.js";
import { requirePeers } from "./peers.js";
import { median, table } from "./util.js";
import type { ZooPageEngine, ZooWindow } from "./zoo-browser-types.js";

/** The page's entry module (in a checkout of the repository). */
export const ZOO_PAGE = path.join(ROOT, "src/bench/zoo-browser-page.ts");
/** The page's float peer, bundled only when the run has the tfjs peer. */
export const ZOO_PAGE_TFJS = path.join(ROOT, "src/bench/zoo-browser-tfjs.ts");
const TFJS_WASM = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];
/** The goal: Chromium at least 0.9x Node's speed. */
export const CHROMIUM_GOAL = 0.9;

export interface ChromiumRun {
  /** Threads asked for (Node's engine of the same row got these). */
  threads: number;
  /** Threads the page's engine got. */
  chromium_threads: number;
  node_ms: number;
  chromium_ms: number;
  /** Chromium's speed over Node's: node_ms / chromium_ms (goal >= 0.9). */
  chromium_vs_node: number;
  /** ResNet-18 on tfjs-wasm in the page / onebit in the page; 1-thread rows of runs with the tfjs peer. */
  speedup_vs_tfjs?: number;
}

export interface ChromiumModelResult {
  runs: ChromiumRun[];
  /** Largest |page score - Node score| over the largest |Node score|, 1-thread engines. */
  scores_max_relative_difference: number;
  /** The page's argmax equals Node's. */
  same_class: boolean;
  /** ResNet-18 on tfjs-wasm (1 thread) in the page, median over this model's rounds. */
  tfjs_wasm_ms?: number;
}

export interface ChromiumInfo {
  version: string;
  backend: string;
  /** The page was cross-origin isolated (it can use threads). */
  isolated: boolean;
  /** Why the page's engines run on fewer threads than asked, if they do. */
  note?: string;
  /** The page's float peer (runs with the tfjs peer): tfjs's backend. */
  tfjs_backend?: string;
}

/** The float peer's network, as `onebit bench zoo` builds it in Node. */
export interface TfjsPeerOptions {
  inputShape: [number, number, number];
  classes: number;
  width: number;
}

/** One model loaded in the page: a timed function per thread count, and the result. */
export interface ChromiumModel {
  /** Each call runs one predict in the page and records the page's time (per thread count, then the tfjs peer). */
  timed: (() => Promise<void>)[];
  /** The medians of the last `runs` recorded times of each thread count against Node's medians. */
  result(nodeMs: readonly number[], runs: number): ChromiumModelResult;
}

const api = (page: Page) => ({
  load: (url: string, threads: number[]) =>
    page.evaluate(
      ([u, t]) => (window as ZooWindow).onebitZoo!.load(u as string, t as number[]),
      [url, threads],
    ),
  time: (threads: number) => page.evaluate((t) => (window as ZooWindow).onebitZoo!.time(t), threads),
  scores: (threads: number) => page.evaluate((t) => (window as ZooWindow).onebitZoo!.scores(t), threads),
});

/** Bundles the zoo page (with the tfjs peer if asked) into `dir`/dist. */
async function buildPage(dir: string, tfjs: boolean): Promise<string> {
  await writeFile(
    path.join(dir, "index.html"),
    '<!doctype html>\n<link rel="icon" href="data:," />\n<script type="module" src="./main.js"></script>\n',
  );
  const lines = [`import { start } from ${JSON.stringify(ZOO_PAGE)};`, "start();"];
  if (tfjs) lines.push(`import { startTfjs } from ${JSON.stringify(ZOO_PAGE_TFJS)};`, "startTfjs();");
  await writeFile(path.join(dir, "main.js"), `${lines.join("\n")}\n`);
  const { build } = await import("vite");
  const outDir = path.join(dir, "dist");
  await build({
    root: dir,
    base: "./",
    configFile: false,
    logLevel: "error",
    worker: { format: "es" },
    build: { outDir, target: "es2022", emptyOutDir: true },
  });
  return outDir;
}

export class ChromiumZoo {
  private constructor(
    private readonly page: Page,
    readonly info: ChromiumInfo,
    private readonly files: Map<string, Uint8Array>,
    private readonly shutdown: () => Promise<void>,
    /** Console errors and uncaught exceptions of the page. */
    readonly errors: string[],
  ) {}

  /** The tfjs peer's times in the page, one per call of its timed function. */
  private readonly tfjsTimes: number[] = [];

  /**
   * Builds and serves the page, opens it in Chromium and hands it the image every model
   * predicts; with `tfjs`, also loads the float peer in the page.
   */
  static async open(image: Uint8Array, tfjs?: TfjsPeerOptions): Promise<ChromiumZoo> {
    await requirePeers("zoo --browser", {
      packages: [
        "vite",
        "playwright-core",
        ...(tfjs ? ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"] : []),
      ],
      files: [path.relative(ROOT, ZOO_PAGE)],
    });
    if (!existsSync(CHROMIUM))
      throw new Error(`bench zoo --browser: ${CHROMIUM} is missing (apt-get install chromium)`);
    const dir = await mkdtemp(path.join(os.tmpdir(), "onebit-zoo-page-"));
    const files = new Map<string, Uint8Array>([["/input.bin", image]]);
    const {
      page,
      url,
      errors,
      close: shutdown,
    } = await openServedPage(dir, async () => {
      if (tfjs) {
        const wasmDir = path.join(
          path.dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")),
          "dist",
        );
        for (const f of TFJS_WASM) files.set(`/tfjs/${f}`, await readFile(path.join(wasmDir, f)));
      }
      return {
        root: await buildPage(dir, tfjs !== undefined),
        options: { headers: ISOLATION_HEADERS, files },
      };
    });
    try {
      await page.goto(url);
      await page
        .waitForFunction(() => (window as ZooWindow).onebitZoo, undefined, { timeout: 60_000 })
        .catch((e: Error) => {
          throw new Error(`bench zoo --browser: the page did not start: ${errors.join("; ") || e.message}`);
        });
      const { isolated, userAgent } = await page.evaluate(() => {
        const z = (window as ZooWindow).onebitZoo!;
        return { isolated: z.isolated, userAgent: z.userAgent };
      });
      await page.evaluate((url) => (window as ZooWindow).onebitZoo!.setInput(url), "./input.bin");
      const info: ChromiumInfo = {
        version: userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? userAgent,
        backend: "",
        isolated,
      };
      if (tfjs) {
        const loaded = await page.evaluate(
          (o) =>
            (window as ZooWindow).onebitZooTfjs!.load(
              "./tfjs/",
              "./input.bin",
              o.inputShape,
              o.classes,
              o.width,
            ),
          tfjs,
        );
        info.tfjs_backend = loaded.backend;
      }
      return new ChromiumZoo(page, info, files, shutdown, errors);
    } catch (error) {
      await shutdown();
      throw error;
    }
  }

  /**
   * Loads `bytes` in the page on each thread count and checks the page's 1-thread scores
   * against `nodeScores` (Node's engine on the same image).
   */
  async load(
    id: string,
    bytes: Uint8Array,
    threads: readonly number[],
    nodeScores: Float32Array,
  ): Promise<ChromiumModel> {
    const url = `/models/${id}.onebit`;
    this.files.set(url, bytes);
    const page = api(this.page);
    let engines: ZooPageEngine[];
    try {
      engines = await page.load(`.${url}`, [...threads]);
    } finally {
      this.files.delete(url);
    }
    this.info.backend = engines[0]!.backend;
    const note = engines.find((e) => e.note)?.note;
    if (note) this.info.note = note;
    const scores = await page.scores(threads[0]!);
    let maxNode = 0;
    let maxDiff = 0;
    for (let i = 0; i < nodeScores.length; i++) {
      maxNode = Math.max(maxNode, Math.abs(nodeScores[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(scores[i]! - nodeScores[i]!));
    }
    const argmax = (s: ArrayLike<number>) => {
      let best = 0;
      for (let i = 1; i < s.length; i++) if (s[i]! > s[best]!) best = i;
      return best;
    };
    const times: number[][] = threads.map(() => []);
    const timed = threads.map((t, i) => async () => {
      times[i]!.push(await page.time(t));
    });
    const withTfjs = this.info.tfjs_backend !== undefined;
    if (withTfjs) {
      timed.push(async () => {
        this.tfjsTimes.push(await this.page.evaluate(() => (window as ZooWindow).onebitZooTfjs!.time()));
      });
    }
    return {
      timed,
      result: (nodeMs, runs) => {
        const tfjsMs = withTfjs ? median(this.tfjsTimes.slice(-runs)) : undefined;
        return {
          runs: threads.map((t, i) => {
            const chromiumMs = median(times[i]!.slice(-runs));
            const run: ChromiumRun = {
              threads: t,
              chromium_threads: engines[i]!.threads,
              node_ms: nodeMs[i]!,
              chromium_ms: chromiumMs,
              chromium_vs_node: nodeMs[i]! / chromiumMs,
            };
            if (tfjsMs !== undefined && t === 1) run.speedup_vs_tfjs = tfjsMs / chromiumMs;
            return run;
          }),
          scores_max_relative_difference: maxDiff / Math.max(maxNode, 1e-30),
          same_class: argmax(scores) === argmax(nodeScores),
          tfjs_wasm_ms: tfjsMs,
        };
      },
    };
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as ZooWindow).onebitZoo?.dispose()).catch(() => {});
    await this.shutdown();
  }
}

/** The Chromium rows of the zoo report as text (empty when the run had no --browser). */
export function formatChromium(
  info: ChromiumInfo | undefined,
  models: readonly { label: string; chromium?: ChromiumModelResult }[],
): string {
  if (!info) return "";
  const rows = models.flatMap((m) =>
    (m.chromium?.runs ?? []).map((r, i) => [
      i === 0 ? m.label : "",
      r.chromium_threads === r.threads ? String(r.threads) : `${r.threads} (got ${r.chromium_threads})`,
      r.node_ms,
      r.chromium_ms,
      r.chromium_vs_node,
      r.chromium_vs_node >= CHROMIUM_GOAL ? "yes" : "NO",
      i === 0 ? m.chromium!.scores_max_relative_difference.toExponential(1) : "",
      ...(info.tfjs_backend
        ? [i === 0 ? (m.chromium!.tfjs_wasm_ms ?? "-") : "", r.speedup_vs_tfjs ?? "-"]
        : []),
    ]),
  );
  return [
    `\nChromium (${info.version}, ${info.backend}, ${info.isolated ? "cross-origin isolated" : "NOT cross-origin isolated"}): ` +
      `the same .onebit bytes and image in a page, timed in the page, in the same rounds as Node's engines` +
      (info.tfjs_backend
        ? `; ResNet-18 float on tfjs (${info.tfjs_backend}, 1 thread) in the page in the same rounds, x tfjs = its time / onebit's`
        : "") +
      (info.note ? `\nnote: ${info.note}` : ""),
    table(
      [
        "model",
        "thr",
        "node ms",
        "chromium ms",
        "chromium / node speed",
        `>= ${CHROMIUM_GOAL}`,
        "score diff",
        ...(info.tfjs_backend ? ["tfjs ms", "x tfjs"] : []),
      ],
      rows,
    ),
  ].join("\n");
}

/** The goal "Chromium >= 0.9x Node's speed" for every model and thread count measured. */
export function chromiumTargets(
  models: readonly { label: string; chromium?: ChromiumModelResult }[],
): { what: string; target: string; measured: number; met: boolean }[] {
  return models.flatMap((m) =>
    (m.chromium?.runs ?? []).map((r) => ({
      what: `${m.label} Chromium / Node, ${r.threads} thread${r.threads === 1 ? "" : "s"}`,
      target: `>= ${CHROMIUM_GOAL}`,
      measured: r.chromium_vs_node,
      met: r.chromium_vs_node >= CHROMIUM_GOAL,
    })),
  );
}
