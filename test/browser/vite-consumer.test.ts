/**
 * onebit as a consumer installs it: `npm pack` this package, unpack the tarball into
 * node_modules/onebit of a fresh Vite app with no config file (the app's page imports
 * `onebit/engine` and classifies a few MNIST test images), then open that page in Debian's
 * Chromium as served by `vite` dev (the dependency pre-bundler moves the engine into
 * node_modules/.vite/deps) and by a static server over `vite build`'s output. Each must
 * give the Node engine's scores (Chromium picks the relaxed-SIMD kernels; on this model they
 * give the SIMD build's scores, see demo.test.ts). Needs `npm run build` (the tarball ships dist/ and
 * build/wasm); skipped, saying why, where /usr/bin/chromium is missing.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, DEMO_MODEL, launchChromium, ROOT, serveDir } from "../../src/bench/chromium.js";
import { readIdx } from "../../src/data/idx.js";
import { mnistDataDir } from "../../src/data/mnist.js";
import { Engine } from "../../src/engine/index.js";

const VITE = path.join(ROOT, "node_modules/vite/bin/vite.js");
const COUNT = 16;
const SKIP =
  process.env.ONEBIT_SKIP_BROWSER === "1"
    ? "ONEBIT_SKIP_BROWSER=1"
    : existsSync(CHROMIUM)
      ? undefined
      : `${CHROMIUM} is missing (apt-get install -y chromium)`;

/** The consumer's page: everything it knows of onebit is the package name. */
const MAIN_JS = `import { Engine, EngineWorker } from "onebit/engine";
const get = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
try {
  const [model, images] = await Promise.all([get("./model.onebit"), get("./images.bin")]);
  const engine = await Engine.load(model);
  const p = engine.predict(images);
  const worker = await EngineWorker.load(model);
  const q = await worker.predict(images);
  await worker.dispose();
  window.result = {
    backend: engine.backend.name,
    classes: Array.from(p.classes),
    scores: Array.from(p.scores),
    workerBackend: worker.backend,
    workerScores: Array.from(q.scores),
  };
} catch (error) {
  window.failure = String(error?.stack ?? error);
}
`;

interface PageResult {
  backend: string;
  classes: number[];
  scores: number[];
  workerBackend: string;
  workerScores: number[];
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Starts `vite` (dev) in `cwd` on a free loopback port; resolves with its URL. */
async function startViteDev(cwd: string): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [VITE, "--host", "127.0.0.1", "--port", "0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += String(d)));
  child.stderr.on("data", (d) => (out += String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vite dev did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m && m[1] !== "0") {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout.on("data", check);
    child.on("exit", (code) => reject(new Error(`vite dev exited (${code}):\n${out}`)));
  });
  return { url, child, log: () => out };
}

describe("onebit installed from its tarball into a Vite app without config", () => {
  let dir = "";
  let app = "";
  let images: Uint8Array;
  let expected: { classes: number[]; scores: number[] };
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    if (SKIP) return;
    for (const built of ["dist/engine/index.js", "build/wasm/onebit-relaxed.wasm"]) {
      if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run npm run build`);
    }
    dir = await mkdtemp(path.join(os.tmpdir(), "onebit-consumer-"));
    app = path.join(dir, "app");
    const packed = JSON.parse(
      run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT),
    ) as {
      filename: string;
    }[];
    const pkg = path.join(app, "node_modules/onebit");
    await mkdir(pkg, { recursive: true });
    await mkdir(path.join(app, "public"));
    run("tar", ["xzf", path.join(dir, packed[0]!.filename), "-C", pkg, "--strip-components=1"], dir);
    await writeFile(
      path.join(app, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { onebit: "*" } }),
    );
    await writeFile(
      path.join(app, "index.html"),
      '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>\n',
    );
    await writeFile(path.join(app, "main.js"), MAIN_JS);
    await copyFile(DEMO_MODEL, path.join(app, "public/model.onebit"));
    const all = readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array;
    images = all.slice(0, COUNT * 784);
    await writeFile(path.join(app, "public/images.bin"), images);
    const engine = await Engine.load(new Uint8Array(await readFile(DEMO_MODEL)));
    const p = engine.predict(images);
    expected = { classes: Array.from(p.classes), scores: Array.from(p.scores) };
    engine.dispose();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens `url`, waits for the page's result; also returns the .wasm paths it fetched and any 404. */
  async function openPage(url: string): Promise<{ result: PageResult; wasm: string[]; missing: string[] }> {
    const page = await browser!.context.newPage();
    const wasm: string[] = [];
    const missing: string[] = [];
    page.on("response", (r) => {
      const { pathname } = new URL(r.url());
      if (pathname.endsWith(".wasm")) wasm.push(pathname);
      if (r.status() === 404) missing.push(pathname);
    });
    try {
      await page.goto(url);
      await page.waitForFunction(() => "result" in window || "failure" in window, undefined, {
        timeout: 30_000,
      });
      const failure = await page.evaluate(() => (window as { failure?: string }).failure);
      expect(failure).toBeUndefined();
      const result = await page.evaluate(() => (window as unknown as { result: PageResult }).result);
      return { result, wasm, missing };
    } finally {
      await page.close();
    }
  }

  it("runs under `vite` dev: the pre-bundled engine fetches the package's kernels", async ({ skip }) => {
    skip(SKIP !== undefined, SKIP);
    const dev = await startViteDev(app);
    try {
      const { result, wasm, missing } = await openPage(dev.url);
      expect(missing).toEqual([]);
      // Fetched twice: by the page's engine and by the EngineWorker's.
      expect(wasm).toEqual([
        "/node_modules/onebit/build/wasm/onebit-relaxed.wasm",
        "/node_modules/onebit/build/wasm/onebit-relaxed.wasm",
      ]);
      expect(result.backend).toBe("wasm-relaxed");
      expect(result.classes).toEqual(expected.classes);
      expect(result.scores).toEqual(expected.scores);
      expect(result.workerBackend).toBe("wasm-relaxed");
      expect(result.workerScores).toEqual(expected.scores);
      // The engine did go through the dependency pre-bundler (the case this test is for).
      expect(existsSync(path.join(app, "node_modules/.vite/deps/onebit_engine.js"))).toBe(true);
      expect(dev.log()).not.toMatch(/doesn't exist at build time/);
    } finally {
      dev.child.kill();
    }
  });

  it("runs as built by `vite build`", async ({ skip }) => {
    skip(SKIP !== undefined, SKIP);
    run(process.execPath, [VITE, "build", "--logLevel", "warn"], app);
    const server = await serveDir(path.join(app, "dist"));
    try {
      const { result, wasm, missing } = await openPage(server.url);
      expect(missing).toEqual([]);
      expect(wasm).toHaveLength(2);
      for (const w of wasm) expect(w).toMatch(/^\/assets\/onebit-relaxed-(?!shared)[\w-]+\.wasm$/);
      expect(result.classes).toEqual(expected.classes);
      expect(result.scores).toEqual(expected.scores);
      expect(result.workerScores).toEqual(expected.scores);
    } finally {
      await server.close();
    }
  });
});
