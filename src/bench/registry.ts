/**
 * The benchmarks behind `onebit bench NAME`. Each module exports
 * `run(options: BenchOptions): Promise<void>`, printing a table or, with --json, one JSON
 * object. Modules load lazily so that `onebit bench gemm` does not load onnxruntime.
 * `needs` lists the peers a bench imports (devDependencies, absent from an install); the
 * command checks them first and says what to install.
 */
import type { BenchNeeds } from "./peers.js";
import type { BenchOptions } from "./util.js";

const TFJS = ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"];
const ORT = "onnxruntime-node";

export interface BenchEntry {
  about: string;
  needs?: BenchNeeds;
  load: () => Promise<{ run: (options: BenchOptions) => Promise<void> }>;
}

export const benches: Record<string, BenchEntry> = {};
benches["bgemm"] = {
  about: "binary GEMM GMAC/s, one thread: SIMD vs scalar vs ref",
  load: () => import("./bgemm.js"),
};
benches["gemm"] = {
  about: "float sgemm GFLOP/s, one thread, vs tfjs-backend-wasm matMul",
  needs: { packages: TFJS },
  load: () => import("./gemm.js"),
};
benches["conv-train"] = {
  about: "float conv forward + dW + dx through the conv2d op and autograd, GFLOP/s, one thread",
  load: () => import("./convTrain.js"),
};
benches["layers"] = {
  about:
    "one binary conv/dense layer (pack + XOR-popcount + threshold) vs the float layer in onnxruntime-node and tfjs-wasm",
  needs: { packages: [ORT, ...TFJS] },
  load: () => import("./layers.js"),
};
benches["models"] = {
  about: "images/s of the exported MNIST bnn-cnn vs its float twin in onnxruntime-node, batch 64 and 1",
  needs: { packages: [ORT] },
  load: () => import("./models.js"),
};
benches["accuracy"] = {
  about: "full training schedules (hours): test accuracy of the reference models, results in bench/results/",
  load: () => import("./accuracy.js"),
};
benches["browser"] = {
  about: "images/s of the demo's MNIST bnn-cnn in Chromium vs in Node, batch 64 and 1, same run",
  needs: { packages: ["vite", "playwright-core"], files: ["web/vite.config.ts"] },
  load: () => import("./browser.js"),
};
benches["train"] = {
  about:
    "seconds per MNIST training epoch vs PyTorch (2 threads): bnn-mlp and the Larq-tutorial CNN; --model birealnet,reactnet,quicknet",
  load: () => import("./train.js"),
};
benches["threads"] = {
  about:
    "1 thread vs all threads (--threads N) on sgemm, binary GEMM/conv, a conv layer's training pass and training steps; bit-identity",
  load: () => import("./threads.js"),
};
benches["zoo"] = {
  about:
    "ms/image of Bi-Real-18, ReActNet, QuickNet(Small/Large) at 224x224x3, 1 and N threads, vs float ResNet-18 in onnxruntime-node and tfjs-wasm; --browser: also in Chromium",
  load: () => import("./zoo.js"),
};
