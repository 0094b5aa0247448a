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

export type ZooWindow = Window & { onebitZoo?: ZooPageApi };
