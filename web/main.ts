/**
 * The demo page: a packed model (the MNIST bnn-cnn, or the residual Fashion-MNIST BNN:
 * web/catalog.ts, chosen with the picker) classifies a drawing or a test image live
 * (panel 1, the synchronous Engine: one image is well under a frame) and runs its whole
 * test set (panel 2, an EngineWorker started on first use: the page keeps painting its
 * progress bar while the worker classifies). Of onebit it imports the engine entry point
 * only (plus the type of `window.onebitDemo`, through which the browser test and the
 * browser benchmark drive the same engine the page uses).
 *
 * Query parameters: `?demo=mnist|fashion` (the model and its test set; default mnist),
 * `?model=URL` (another model file for it), `?wasm=URL` (the kernel module; default: the
 * bundled SIMD or scalar build), `?backend=wasm-scalar`.
 */
import type { DemoApi } from "../src/bench/demoApi.js";
import { activationMemory, Engine, type EngineOptions, EngineWorker } from "../src/engine/index.js";
import { DEMO_MODELS, type DemoModel, pickModel } from "./catalog.js";
import { SIZE, toMnistDigit } from "./digit.js";
import { fetchIdxU8, type IdxU8 } from "./idx.js";
import { renderMistakes } from "./mistakes.js";
import { formatBytes, formatVersion, graphInfo, parameterCount, softmax } from "./model-info.js";
import { DrawingPad } from "./pad.js";
import { runTestSet } from "./testset.js";
import { median, timeCalls } from "./timing.js";

declare global {
  interface Window {
    onebitDemo?: DemoApi;
    onebitDemoError?: string;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
};

const params = new URLSearchParams(location.search);

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function renderProbabilities(list: HTMLElement, names: readonly string[], probs: number[]): void {
  const best = probs.indexOf(Math.max(...probs));
  list.replaceChildren(
    ...probs.map((p, i) => {
      const row = document.createElement("li");
      row.className = i === best ? "best" : "";
      row.innerHTML = `<span class="label"></span><span class="bar"><span></span></span><span class="pct"></span>`;
      row.querySelector(".label")!.textContent = names[i]!;
      (row.querySelector(".bar > span") as HTMLElement).style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".pct")!.textContent = `${(100 * p).toFixed(1)}%`;
      return row;
    }),
  );
}

function showSeen(canvas: HTMLCanvasElement, pixels: Uint8Array): void {
  const img = new ImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) img.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], 4 * i);
  canvas.getContext("2d")!.putImageData(img, 0, 0);
}

/** The model picker: choosing a model reloads the page with `?demo=ID` (other parameters kept). */
function setUpPicker(current: DemoModel): void {
  const select = $<HTMLSelectElement>("model-pick");
  select.replaceChildren(
    ...DEMO_MODELS.map((m) => {
      const option = document.createElement("option");
      option.value = m.id;
      option.textContent = m.label;
      option.selected = m.id === current.id;
      return option;
    }),
  );
  select.addEventListener("change", () => {
    const next = new URLSearchParams(location.search);
    next.set("demo", select.value);
    next.delete("model");
    location.search = next.toString();
  });
}

/** The page's words for the chosen model. */
function describe(demo: DemoModel): void {
  $("lede").textContent = demo.about;
  $("draw-title").textContent = demo.drawTitle;
  $("draw-hint").textContent = demo.drawHint;
  $("truth").textContent = `draw a ${demo.item}`;
  $("test-title").textContent = `2. The whole ${demo.testSet.name} test set, in this page`;
}

/** The test set, or null (and a note on the page) when this build does not have it. */
async function fetchTestSet(demo: DemoModel): Promise<{ images: IdxU8; labels: IdxU8 } | null> {
  try {
    const [images, labels] = await Promise.all([
      fetchIdxU8(demo.testSet.images),
      fetchIdxU8(demo.testSet.labels),
    ]);
    return { images, labels };
  } catch (error) {
    $("test-missing").textContent =
      `The ${demo.testSet.name} test images are not in this build (${error instanceof Error ? error.message : error}); ` +
      "web/vite.config.ts says where it looks for them.";
    $("test-missing").hidden = false;
    for (const id of ["random", "run-test"]) $<HTMLButtonElement>(id).disabled = true;
    return null;
  }
}

async function main(): Promise<void> {
  const demo = pickModel(params.get("demo"));
  setUpPicker(demo);
  describe(demo);
  const backend = (params.get("backend") ?? "wasm") as EngineOptions["backend"];
  const wasmParam = params.get("wasm");
  const wasmUrl = wasmParam ? new URL(wasmParam, location.href) : undefined;
  const [modelBytes, testSet] = await Promise.all([
    fetchBytes(params.get("model") ?? demo.url),
    fetchTestSet(demo),
  ]);
  const engine = await Engine.load(modelBytes, { backend, wasmUrl });
  if (engine.imageSize !== SIZE * SIZE) {
    throw new Error(`the model reads images of shape [${engine.inputShape}]; this page gives 28x28x1`);
  }
  const names = engine.classNames;
  if (names.some((n) => n.length > 2)) {
    $("probs").classList.add("words");
    $("prediction").classList.add("words");
  }
  const params32 = parameterCount(engine.model);
  const floatBytes = 4 * (params32.binary + params32.other);
  const { testAccuracy, epoch } = engine.model.metadata;
  const trained =
    typeof testAccuracy === "number" && typeof epoch === "number"
      ? ` · trained ${epoch} epoch${epoch === 1 ? "" : "s"}, ${(100 * testAccuracy).toFixed(2)}% test accuracy at export`
      : "";
  const graph = graphInfo(engine.model);
  const memory = activationMemory(engine.model);
  $("model-info").innerHTML = `<div><b id="model-name"></b> <span id="model-layers"></span></div>
    <div id="model-graph" class="graph"></div>
    <div class="size"><b>${formatBytes(modelBytes.length)}</b> packed <span class="vs">vs</span>
      ${formatBytes(floatBytes)} as float32
      <span class="ratio">(${(floatBytes / modelBytes.length).toFixed(1)}&times; smaller)</span></div>
    <div id="model-params"></div>`;
  $("model-name").textContent = engine.model.name;
  $("model-layers").textContent = `· ${graph.layers} layers (${graph.binary} binary)${trained}`;
  $("model-graph").textContent =
    (graph.graph
      ? `a graph (.onebit ${formatVersion(modelBytes)}): ${graph.adds} residual shortcut${graph.adds === 1 ? "" : "s"} (add)`
      : `a chain (.onebit ${formatVersion(modelBytes)}): each layer reads the one before`) +
    ` · activations ${formatBytes(memory.peakBytes)} per image at peak, buffers reused by liveness` +
    ` (${formatBytes(memory.totalBytes)} with one buffer per layer)`;
  $("model-params").textContent =
    `${params32.binary.toLocaleString("en")} binary + ${params32.other.toLocaleString("en")} float parameters` +
    ` · kernels: ${engine.backend.name} (WebAssembly${{ "wasm-relaxed": " relaxed SIMD", "wasm-simd": " SIMD" }[engine.backend.name as string] ?? ""})`;

  const seen = $<HTMLCanvasElement>("seen");
  const probs = $("probs");
  let current: Uint8Array | null = null;
  let latencyTimer = 0;

  const classify = (pixels: Uint8Array, truth?: number) => {
    current = pixels;
    showSeen(seen, pixels);
    const p = engine.predict(pixels);
    renderProbabilities(probs, names, softmax(p.scores));
    $("prediction").textContent = names[p.classes[0]!]!;
    $("truth").textContent = truth === undefined ? "your drawing" : `test image, true label ${names[truth]}`;
    clearTimeout(latencyTimer);
    latencyTimer = window.setTimeout(() => {
      if (!current) return;
      const pix = current;
      const ms = median(timeCalls(() => engine.predict(pix), { runs: 5, warmup: 2, minMs: 8 }));
      $("latency").textContent =
        `${ms < 1 ? ms.toFixed(3) : ms.toFixed(2)} ms per image (median of 5 timed runs, batch 1)`;
    }, 120);
  };

  let frame = 0;
  const pad = new DrawingPad($<HTMLCanvasElement>("pad"), () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const digit = toMnistDigit(pad.ink(), pad.canvas.width, pad.canvas.height);
      if (!digit) return;
      $("pick-index").textContent = "";
      classify(digit);
    });
  });
  $("clear").addEventListener("click", () => {
    pad.clear();
    current = null;
    $("prediction").textContent = "–";
    $("truth").textContent = `draw a ${demo.item}`;
    probs.replaceChildren();
    $("pick-index").textContent = "";
    seen.getContext("2d")!.clearRect(0, 0, SIZE, SIZE);
  });
  // Without its test set (not in this build) the page still classifies drawings.
  const { images, labels } = testSet ?? {
    images: { dims: [0, SIZE, SIZE], data: new Uint8Array(0) },
    labels: { dims: [0], data: new Uint8Array(0) },
  };
  const count = labels.dims[0]!;
  const pick = (index: number) => {
    const pixels = images.data.slice(index * SIZE * SIZE, (index + 1) * SIZE * SIZE);
    pad.show(pixels, SIZE);
    classify(pixels, labels.data[index]);
    $("pick-index").textContent = `#${index}`;
  };
  $("random").addEventListener("click", () => pick(Math.floor(Math.random() * count)));

  // The same model and kernels in a worker, started when first needed.
  let worker: Promise<EngineWorker> | undefined;
  const inWorker = () => {
    worker ??= EngineWorker.load(modelBytes, { backend, wasmUrl });
    return worker;
  };
  const testBatch = (indices: number[]) => {
    if (!testSet) throw new Error(`the ${demo.testSet.name} test images are not in this build`);
    const batch = new Uint8Array(indices.length * SIZE * SIZE);
    for (const [i, k] of indices.entries()) {
      batch.set(images.data.subarray(k * SIZE * SIZE, (k + 1) * SIZE * SIZE), i * SIZE * SIZE);
    }
    return batch;
  };

  const runButton = $<HTMLButtonElement>("run-test");
  const runPanel = async () => {
    runButton.disabled = true;
    const progress = $<HTMLProgressElement>("test-progress");
    progress.max = count;
    const result = await runTestSet(await inWorker(), images, labels, (done, correct) => {
      progress.value = done;
      $("test-count").textContent = `${done.toLocaleString("en")} / ${count.toLocaleString("en")}`;
      $("test-accuracy").textContent = `${((100 * correct) / done).toFixed(2)}%`;
    });
    $("test-accuracy").textContent = `${(100 * result.accuracy).toFixed(2)}%`;
    $("test-errors").textContent = `${(result.count - result.correct).toLocaleString("en")}`;
    $("test-speed").textContent = `${Math.round(result.imagesPerSecond).toLocaleString("en")}`;
    $("test-time").textContent =
      `${(result.engineMs / 1000).toFixed(2)} s engine, ${(result.wallMs / 1000).toFixed(2)} s wall`;
    renderMistakes($("test-mistakes"), images, labels, result.classes, names, (index) => {
      pick(index);
      $("draw-panel").scrollIntoView({ behavior: "smooth" });
    });
    $("mistakes-title").hidden = false;
    runButton.disabled = false;
    return result;
  };
  runButton.addEventListener("click", () => {
    runPanel().catch((error: unknown) => {
      $("error").textContent =
        `The test set could not run: ${error instanceof Error ? error.message : error}`;
      $("error").hidden = false;
      runButton.disabled = false;
    });
  });

  window.onebitDemo = {
    demo: demo.id,
    backend: engine.backend.name,
    classNames: [...names],
    predictTest(indices) {
      const p = engine.predict(testBatch(indices));
      return { classes: Array.from(p.classes), scores: Array.from(p.scores) };
    },
    async predictTestInWorker(indices) {
      const p = await (await inWorker()).predict(testBatch(indices), { transfer: true });
      return { classes: Array.from(p.classes), scores: Array.from(p.scores) };
    },
    bench(batch, runs) {
      const input = images.data.subarray(0, batch * SIZE * SIZE);
      return timeCalls(() => engine.predict(input), { runs, warmup: 3, minMs: 20 });
    },
    async runTestSet() {
      const r = await runPanel();
      return { accuracy: r.accuracy, imagesPerSecond: r.imagesPerSecond, classes: Array.from(r.classes) };
    },
  };
  document.body.classList.add("ready");
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  window.onebitDemoError = message;
  $("error").textContent = `The demo could not start: ${message}`;
  $("error").hidden = false;
});
