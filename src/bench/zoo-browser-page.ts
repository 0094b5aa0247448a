/**
 * The page of `onebit bench zoo --browser` (bundled by Vite in src/bench/zoo-browser.ts,
 * never imported in Node): the engine entry point, one Engine per thread count on the
 * `.onebit` bytes the bench serves, timed inside the page so that the page-to-Node round
 * trip is not in the figures. `start()` sets `window.onebitZoo` (ZooPageApi); the bundle's
 * entry calls it (a bare side-effect import would be dropped: package.json lists the
 * modules with side effects).
 */
import { Engine } from "../engine/index.js";
import type { ZooPageApi, ZooWindow } from "./zoo-browser-types.js";

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const engines = new Map<number, Engine>();
let image: Uint8Array = new Uint8Array(0);

const engineFor = (threads: number): Engine => {
  const engine = engines.get(threads);
  if (!engine) throw new Error(`zoo page: no engine loaded for ${threads} thread(s)`);
  return engine;
};

const api: ZooPageApi = {
  isolated: self.crossOriginIsolated,
  userAgent: navigator.userAgent,
  async setInput(url) {
    image = await fetchBytes(url);
  },
  async load(url, threads) {
    api.dispose();
    const bytes = await fetchBytes(url);
    const out = [];
    for (const t of threads) {
      const engine = await Engine.load(bytes, { threads: t, maxBatch: 1 });
      engines.set(t, engine);
      out.push({
        threads: engine.backend.threads ?? 1,
        backend: engine.backend.name,
        note: engine.backend.threadNote ?? null,
      });
    }
    return out;
  },
  time(threads) {
    const engine = engineFor(threads);
    const t0 = performance.now();
    engine.predict(image);
    return performance.now() - t0;
  },
  scores(threads) {
    return Array.from(engineFor(threads).predict(image).scores);
  },
  dispose() {
    for (const engine of engines.values()) engine.dispose();
    engines.clear();
  },
};

export function start(): void {
  (window as ZooWindow).onebitZoo = api;
}
