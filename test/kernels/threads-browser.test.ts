/**
 * Threads in a browser: a page bundled by Vite (the worker found through
 * `new URL("./worker.js", import.meta.url)`) runs sgemm and the binary GEMM on 1 and 2
 * threads in Debian's Chromium. Served cross-origin isolated (COOP + COEP), it gets 2
 * threads and the same bytes as on 1; served without those headers it falls back to 1
 * thread and says why.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = "/usr/bin/chromium";

const PAGE = (kernels: string) => `
import { createBackend } from ${JSON.stringify(kernels)};
async function products(threads) {
  const b = await createBackend("wasm", { threads });
  const [m, n, k, words] = [384, 256, 320, 64];
  const [a, x, c, p, q, r] = [m * k, k * n, m * n, m * words, n * words, m * n].map((len) => b.heap.alloc(len * 4));
  const fa = b.heap.f32At(a, m * k), fx = b.heap.f32At(x, k * n);
  for (let i = 0; i < m * k; i++) fa[i] = Math.sin(i);
  for (let i = 0; i < k * n; i++) fx[i] = Math.cos(i);
  const wp = b.heap.u32At(p, m * words), wq = b.heap.u32At(q, n * words);
  for (let i = 0; i < m * words; i++) wp[i] = Math.imul(i, 2654435761) >>> 0;
  for (let i = 0; i < n * words; i++) wq[i] = Math.imul(i + 7, 40503) >>> 0;
  b.float.sgemm(false, false, m, n, k, 1, a, k, x, n, 0, c, n);
  b.binary.bgemm(m, n, words, words * 32, p, q, r);
  const bytes = [...new Uint8Array(b.heap.memory.buffer, c, m * n * 4), ...new Uint8Array(b.heap.memory.buffer, r, m * n * 4)];
  return { threads: b.threads, note: b.threadNote ?? null, bytes };
}
const one = await products(1);
const two = await products(2);
window.result = {
  isolated: self.crossOriginIsolated,
  threads: two.threads,
  note: two.note,
  same: one.bytes.length === two.bytes.length && one.bytes.every((v, i) => v === two.bytes[i]),
};
`;

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
};

async function serve(dir: string, isolated: boolean): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname;
    const file = path.join(dir, name === "/" ? "index.html" : name);
    readFile(file).then(
      (body) => {
        const headers: Record<string, string> = {
          "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
        };
        if (isolated) {
          headers["Cross-Origin-Opener-Policy"] = "same-origin";
          headers["Cross-Origin-Embedder-Policy"] = "require-corp";
        }
        res.writeHead(200, headers).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

describe.skipIf(process.env.ONEBIT_SKIP_BROWSER === "1")("kernel threads in Chromium", () => {
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    dir = await mkdtemp(path.join(os.tmpdir(), "onebit-threads-page-"));
    await writeFile(path.join(dir, "index.html"), '<script type="module" src="./main.js"></script>\n');
    await writeFile(path.join(dir, "main.js"), PAGE(path.join(ROOT, "src/kernels/index.ts")));
    const { build } = await import("vite");
    await build({
      root: dir,
      base: "./",
      configFile: false,
      logLevel: "warn",
      build: { outDir: path.join(dir, "dist"), target: "es2022" },
    });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(isolated: boolean) {
    const server = await serve(path.join(dir, "dist"), isolated);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox"],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForFunction(() => "result" in window, null, { timeout: 60_000 });
      const result = await page.evaluate(
        () => (window as unknown as { result: Record<string, unknown> }).result,
      );
      return { result, errors };
    } finally {
      await browser.close();
      server.close();
    }
  }

  it("runs on 2 threads when cross-origin isolated, bit for bit as on 1", async () => {
    const { result, errors } = await open(true);
    expect(errors).toEqual([]);
    expect(result).toEqual({ isolated: true, threads: 2, note: null, same: true });
  });

  it("falls back to 1 thread without isolation, and says why", async () => {
    const { result, errors } = await open(false);
    expect(errors).toEqual([]);
    expect(result.threads).toBe(1);
    expect(result.same).toBe(true);
    expect(String(result.note)).toMatch(/1 thread instead of 2: .*Cross-Origin-Opener-Policy: same-origin/);
  });
});
