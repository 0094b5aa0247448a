#!/usr/bin/env node
/**
 * `node web/bundle-size.mjs`: what a browser downloads for the engine alone, the entry
 * point `onebit/engine` (src/engine/index.ts) bundled by Vite for browsers (ES module,
 * minified, every export kept) plus each kernel .wasm, raw and gzipped (level 9). The
 * README's "In the browser" figures come from here. The EngineWorker's worker script is
 * listed on its own: only a page that starts an EngineWorker fetches it.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = await mkdtemp(path.join(os.tmpdir(), "onebit-engine-size-"));
try {
  await build({
    configFile: false,
    logLevel: "warn",
    root,
    worker: { format: "es" },
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2022",
      rolldownOptions: {
        input: path.join(root, "src/engine/index.ts"),
        preserveEntrySignatures: "strict",
      },
    },
  });
  const files = [];
  const walk = async (dir) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push(p);
    }
  };
  await walk(outDir);
  const rows = [];
  for (const file of files.sort()) {
    const bytes = await readFile(file);
    rows.push({
      file: path.relative(outDir, file),
      bytes: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
    });
  }
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  for (const r of rows)
    console.log(`${r.file.padEnd(48)} ${kb(r.bytes).padStart(9)}  gzip ${kb(r.gzip).padStart(8)}`);
  // The EngineWorker's script (a second copy of the engine) is fetched only by
  // EngineWorker.load: reported on its own, not in the engine's total.
  const isHostWorker = (r) => /(^|\/)worker-entry-[\w-]+\.js$/.test(r.file);
  const js = rows.filter((r) => r.file.endsWith(".js") && !isHostWorker(r));
  const jsGzip = js.reduce((a, r) => a + r.gzip, 0);
  for (const r of rows.filter(isHostWorker))
    console.log(`EngineWorker's worker script, gzipped: ${kb(r.gzip)}`);
  for (const flavor of ["relaxed", "simd", "scalar"]) {
    const wasm = rows.find((r) => new RegExp(`onebit-${flavor}-(?!shared)`).test(r.file));
    if (wasm) console.log(`engine JS + ${flavor} wasm, gzipped: ${kb(jsGzip + wasm.gzip)}`);
  }
} finally {
  await rm(outDir, { recursive: true, force: true });
}
