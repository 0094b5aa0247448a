/**
 * The demo page in a real Chromium, for the browser test and `onebit bench browser`:
 * build web/ with Vite into a folder, serve it on 127.0.0.1, and open it in Debian's
 * /usr/bin/chromium driven by playwright-core (never a downloaded browser), with the flags
 * that keep an offline machine's Chromium from reaching for the network and a fresh
 * profile directory.
 *
 *     const demo = await openDemo();       // builds, serves, launches, waits for the page
 *     await demo.page.evaluate(() => window.onebitDemo!.predictTest([0, 1, 2]));
 *     await demo.close();
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import type { DemoWindow } from "./demoApi.js";

/** The repository root (this file is src/bench/ or dist/bench/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The model the demo page loads by default. */
export const DEMO_MODEL = path.join(ROOT, "web/public/models/mnist-bnn-cnn.onebit");
/** The demo's residual Fashion-MNIST model (the page's `?demo=fashion`). */
export const FASHION_DEMO_MODEL = path.join(ROOT, "web/public/models/fashion-residual.onebit");

/** Builds the demo page (web/vite.config.ts) into `outDir`. */
export async function buildDemo(outDir: string): Promise<void> {
  const { build } = await import("vite");
  await build({
    configFile: path.join(ROOT, "web/vite.config.ts"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
};

/** Cross-origin isolation: a page served with these gets SharedArrayBuffer, so the kernels can use worker threads. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export interface ServeOptions {
  /** Extra response headers (e.g. ISOLATION_HEADERS). */
  headers?: Readonly<Record<string, string>>;
  /** Files served from memory by path ("/models/a.onebit"), looked up before `dir`; may change while serving. */
  files?: Map<string, Uint8Array>;
}

/** A static file server for `dir` on 127.0.0.1 (a free port); GET only, no directory listing. */
export async function serveDir(
  dir: string,
  options: ServeOptions = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const root = path.resolve(dir);
  const headersFor = (file: string) => ({
    "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
    ...options.headers,
  });
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.join(root, pathname.endsWith("/") ? `${pathname}index.html` : pathname);
    if (req.method !== "GET" || !file.startsWith(root + path.sep)) {
      res.writeHead(req.method !== "GET" ? 405 : 403).end();
      return;
    }
    const inMemory = options.files?.get(pathname);
    if (inMemory) {
      res.writeHead(200, headersFor(pathname)).end(inMemory);
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, headersFor(file));
        res.end(body);
      },
      () => res.writeHead(404).end(`not found: ${pathname}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Chromium with a fresh profile directory (removed on close). */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(path.join(os.tmpdir(), "onebit-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 940 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A page opened on a served folder in a fresh Chromium (openServedPage). */
export interface ServedPage {
  page: Page;
  /** The server's root URL. */
  url: string;
  /** Console errors and uncaught exceptions of the page so far. */
  errors: string[];
  /** Closes Chromium and the server and removes the temporary folder. */
  close: () => Promise<void>;
}

/**
 * Fills the temporary folder `tmp` (`prepare` returns the folder to serve and the server's
 * options), serves it, launches Chromium and opens a blank page that records console
 * errors. On failure everything started so far is closed and `tmp` removed.
 */
export async function openServedPage(
  tmp: string,
  prepare: () => Promise<{ root: string; options?: ServeOptions }>,
): Promise<ServedPage> {
  let server: Awaited<ReturnType<typeof serveDir>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const close = async () => {
    await browser?.close();
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const { root, options } = await prepare();
    server = await serveDir(root, options);
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    return { page, url: server.url, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface OpenDemo {
  page: Page;
  url: string;
  /** The folder the page was built into. */
  dist: string;
  /** Console errors and uncaught exceptions of the page so far. */
  errors: string[];
  close: () => Promise<void>;
}

/** Builds, serves and opens the demo page; resolves when `window.onebitDemo` is set. */
export async function openDemo(options: { query?: string; timeoutMs?: number } = {}): Promise<OpenDemo> {
  const dist = await mkdtemp(path.join(os.tmpdir(), "onebit-web-"));
  const {
    page,
    url: root,
    errors,
    close,
  } = await openServedPage(dist, async () => {
    await buildDemo(dist);
    return { root: dist };
  });
  try {
    const url = root + (options.query ?? "");
    await page.goto(url);
    await page.waitForFunction(
      () => (window as DemoWindow).onebitDemo || (window as DemoWindow).onebitDemoError,
      undefined,
      {
        timeout: options.timeoutMs ?? 30_000,
      },
    );
    const failure = await page.evaluate(() => (window as DemoWindow).onebitDemoError);
    if (failure) throw new Error(`the demo page at ${url} failed to start: ${failure}`);
    return { page, url, dist, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}
