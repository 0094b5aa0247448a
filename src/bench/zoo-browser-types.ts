/**
 * What the page of `onebit bench zoo --browser` (zoo-browser-page.ts) exposes as
 * `window.onebitZoo`, shared by the page and the Node side that drives it.
 */
export interface ZooPageEngine {
  /** Threads the engine got (1 where the page is not cross-origin isolated). */
  threads: number;
  backend: string;
  /** Why it runs on fewer threads than asked, if it does. */
  note: string | null;
}

export interface ZooPageApi {
  /** `crossOriginIsolated`: without it the page has no SharedArrayBuffer, so no threads. */
  isolated: boolean;
  userAgent: string;
  /** Fetches the raw image (NHWC uint8) every later call predicts. */
  setInput(url: string): Promise<void>;
  /** Disposes the engines loaded before, fetches a `.onebit` file and loads one engine per thread count. */
  load(url: string, threads: number[]): Promise<ZooPageEngine[]>;
  /** Milliseconds of one batch-1 predict on the engine of `threads`, timed in the page. */
  time(threads: number): number;
  /** The class scores of that engine on the image. */
  scores(threads: number): number[];
  dispose(): void;
}

export type ZooWindow = Window & { onebitZoo?: ZooPageApi; onebitZooTfjs?: ZooTfjsApi };

/** The float peer in the page (zoo-browser-tfjs.ts), present when the run has the tfjs peer. */
export interface ZooTfjsApi {
  /**
   * Loads tfjs-backend-wasm (its .wasm files under `wasmBase`) on one thread and builds
   * ResNet-18 (resnet18.ts, same seed as in Node) on the raw image at `inputUrl`; returns
   * the backend and the scores.
   */
  load(
    wasmBase: string,
    inputUrl: string,
    inputShape: [number, number, number],
    classes: number,
    width: number,
  ): Promise<{ backend: string; scores: number[] }>;
  /** Milliseconds of one forward pass, timed in the page. */
  time(): number;
}
