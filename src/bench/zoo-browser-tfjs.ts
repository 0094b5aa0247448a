/**
 * The float peer of `onebit bench zoo --browser` inside the page: ResNet-18
 * (resnet18.ts, the same random weights as the Node peers) on @tensorflow/tfjs with the
 * tfjs-backend-wasm backend on one thread, as `onebit bench zoo` runs it in Node. Bundled
 * into the zoo page only when the run has the tfjs peer; `startTfjs()` adds
 * `window.onebitZooTfjs`.
 */
import { resnet18, resnetTfjs, type TfjsOps, type TfTensor } from "./resnet18.js";
import type { ZooTfjsApi, ZooWindow } from "./zoo-browser-types.js";

interface Tfjs extends TfjsOps {
  env(): { set(flag: string, value: unknown): void };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
}

let forward: (() => Float32Array) | undefined;

const api: ZooTfjsApi = {
  async load(wasmBase, inputUrl, inputShape, classes, width) {
    const response = await fetch(inputUrl);
    if (!response.ok) throw new Error(`${inputUrl}: HTTP ${response.status}`);
    const image = new Uint8Array(await response.arrayBuffer());
    const tf = (await import("@tensorflow/tfjs")) as unknown as Tfjs;
    const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as {
      setWasmPaths(prefix: string): void;
      setThreadsCount(n: number): void;
    };
    wasm.setWasmPaths(wasmBase);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend failed to initialize");
    await tf.ready();
    const net = resnet18(inputShape, classes, width);
    const model = resnetTfjs(tf, net, 1);
    const x: TfTensor = model.input(Float32Array.from(image, (v) => v * (1 / 127.5) - 1));
    forward = () => model.forward(x);
    return { backend: tf.getBackend(), scores: Array.from(forward()) };
  },
  time() {
    if (!forward) throw new Error("zoo page: tfjs is not loaded");
    const t0 = performance.now();
    forward();
    return performance.now() - t0;
  },
};

export function startTfjs(): void {
  (window as ZooWindow).onebitZooTfjs = api;
}
