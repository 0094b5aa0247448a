/**
 * What the demo page (web/main.ts) exposes as `window.onebitDemo` for the browser test and
 * `onebit bench browser`: the page's own engine on the page's own test images.
 */
export interface DemoApi {
  /** The demo model's id in web/catalog.ts ("mnist", "fashion"). */
  demo: string;
  /** The engine's backend name ("wasm-relaxed", "wasm-simd" or "wasm-scalar"). */
  backend: string;
  /** The model's class names. */
  classNames: string[];
  /** Classes and scores (row-major) of the model's test images by index, in one predict call. */
  predictTest(indices: number[]): { classes: number[]; scores: number[] };
  /** The same through the page's EngineWorker (the one the test-set panel runs). */
  predictTestInWorker(indices: number[]): Promise<{ classes: number[]; scores: number[] }>;
  /** Milliseconds per predict call on the first `batch` test images, one value per timed run. */
  bench(batch: number, runs: number): number[];
  /** Runs the test-set panel (as its button does) and resolves with its result. */
  runTestSet(): Promise<{ accuracy: number; imagesPerSecond: number; classes: number[] }>;
}

/** The page's window: the API once the demo has started, or the message it failed with. */
export type DemoWindow = Window & { onebitDemo?: DemoApi; onebitDemoError?: string };
