/**
 * The demo page's second model in Debian's Chromium: `?demo=fashion` loads the residual
 * Fashion-MNIST BNN (a `.onebit` 2.0 graph) with the Fashion-MNIST test images the build
 * copied from Debian's dataset-fashion-mnist. The model panel shows its graph; the page's
 * engine, on the SIMD build Node runs, gives exactly the Node engine's scores on fixed test
 * images (the relaxed-SIMD build Chromium would pick by default fuses the float stem's
 * multiply-adds, which may round differently: with it, Node differs on 20 of the 100,000
 * scores of the test set, no class); the test-set panel
 * runs all 10,000 with Node's classes and the accuracy the file was exported with; the
 * picker switches to the MNIST model. Built without the Fashion-MNIST files, the page
 * still loads the model and says the test set is missing. A screenshot goes to
 * test-artifacts/browser-demo-fashion.png.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, FASHION_DEMO_MODEL, type OpenDemo, openDemo, ROOT } from "../../src/bench/chromium.js";
import type { DemoWindow } from "../../src/bench/demoApi.js";
import { readIdx } from "../../src/data/idx.js";
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, findIdxFile } from "../../src/data/mnist.js";
import { Engine } from "../../src/engine/index.js";

const ARTIFACTS = path.join(ROOT, "test-artifacts");
const FIXED = Array.from({ length: 100 }, (_, i) => (i * 97 + 3) % 10_000);

describe.skipIf(process.env.ONEBIT_SKIP_BROWSER === "1")(
  "demo page: the residual Fashion-MNIST model",
  () => {
    let demo: OpenDemo;
    let node: Engine;
    let images: Uint8Array;
    let labels: Uint8Array;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
      const file = (stem: string) => {
        const f = findIdxFile(DEBIAN_FASHION_MNIST_DIR, stem);
        if (!f)
          throw new Error(
            `${DEBIAN_FASHION_MNIST_DIR}/${stem}[.gz] is missing: apt-get install dataset-fashion-mnist`,
          );
        return f;
      };
      images = readIdx(file("t10k-images-idx3-ubyte")).data as Uint8Array;
      labels = readIdx(file("t10k-labels-idx1-ubyte")).data as Uint8Array;
      node = await Engine.load(new Uint8Array(await readFile(FASHION_DEMO_MODEL)));
      demo = await openDemo({ query: "?demo=fashion&backend=wasm-simd" });
    }, 120_000);

    afterAll(async () => {
      node?.dispose();
      await demo?.close();
    });

    it("is a residual graph with Fashion-MNIST's class names, and the page says so", async () => {
      const adds = node.model.layers.filter((l) => l.kind === "add").length;
      expect(adds).toBeGreaterThan(0);
      expect(node.model.layers.filter((l) => l.kind === "binary_conv2d").length).toBeGreaterThan(0);
      expect(node.classNames).toEqual(FASHION_MNIST_CLASSES);
      const page = demo.page;
      const api = await page.evaluate(() => {
        const d = (window as DemoWindow).onebitDemo!;
        return { demo: d.demo, backend: d.backend, classNames: d.classNames };
      });
      expect(api).toEqual({ demo: "fashion", backend: "wasm-simd", classNames: [...FASHION_MNIST_CLASSES] });
      expect(await page.locator("#model-pick").inputValue()).toBe("fashion");
      expect(await page.locator("#model-pick option").allTextContents()).toHaveLength(2);
      expect(await page.locator("#model-name").textContent()).toBe(node.model.name);
      const graph = await page.locator("#model-graph").textContent();
      expect(graph).toContain("a graph (.onebit 2.0)");
      expect(graph).toContain(`${adds} residual shortcuts (add)`);
      expect(graph).toMatch(/activations [\d.]+ KB per image at peak/);
      expect(await page.locator("#test-title").textContent()).toBe(
        "2. The whole Fashion-MNIST test set, in this page",
      );
      expect(await page.locator("#test-missing").isHidden()).toBe(true);
      await page.click("#random");
      await expect
        .poll(() => page.locator("#truth").textContent())
        .toMatch(new RegExp(`^test image, true label (${FASHION_MNIST_CLASSES.join("|")})$`));
      expect(FASHION_MNIST_CLASSES).toContain(await page.locator("#prediction").textContent());
      expect(await page.locator("#probs li").count()).toBe(10);
    });

    it("gives the Node engine's scores for 100 fixed test images", async () => {
      const fromPage = await demo.page.evaluate(
        (indices) => (window as DemoWindow).onebitDemo!.predictTest(indices),
        FIXED,
      );
      const batch = new Uint8Array(FIXED.length * 784);
      for (const [i, k] of FIXED.entries()) batch.set(images.subarray(k * 784, (k + 1) * 784), i * 784);
      const fromNode = node.predict(batch);
      expect(fromPage.classes).toEqual(Array.from(fromNode.classes));
      expect(fromPage.scores).toEqual(Array.from(fromNode.scores));
    });

    it("runs all 10,000 test images in the page: Node's classes, the accuracy it was exported with", async () => {
      const result = await demo.page.evaluate(() => (window as DemoWindow).onebitDemo!.runTestSet());
      const nodeClasses = node.predict(images).classes;
      expect(result.classes).toEqual(Array.from(nodeClasses));
      let correct = 0;
      for (let i = 0; i < labels.length; i++) if (nodeClasses[i] === labels[i]) correct++;
      expect(result.accuracy).toBe(correct / labels.length);
      // The file records the training graph's test accuracy; the engine agrees with it (the
      // converter is exact up to float rounding ties), and it is far above chance.
      const exported = node.model.metadata.testAccuracy as number;
      expect(Math.abs(result.accuracy - exported)).toBeLessThan(0.005);
      expect(result.accuracy).toBeGreaterThan(0.5);
      expect(await demo.page.locator("#test-accuracy").textContent()).toBe(
        `${(100 * result.accuracy).toFixed(2)}%`,
      );
      expect(demo.errors).toEqual([]);
      await mkdir(ARTIFACTS, { recursive: true });
      await demo.page.screenshot({ path: path.join(ARTIFACTS, "browser-demo-fashion.png"), fullPage: true });
    }, 120_000);

    it("the picker switches to the MNIST model", async () => {
      const page = demo.page;
      await page.selectOption("#model-pick", "mnist");
      await page.waitForURL(/[?&]demo=mnist/);
      await page.waitForFunction(
        () => (window as DemoWindow).onebitDemo || (window as DemoWindow).onebitDemoError,
      );
      expect(await page.evaluate(() => (window as DemoWindow).onebitDemoError)).toBeUndefined();
      expect(await page.evaluate(() => (window as DemoWindow).onebitDemo!.demo)).toBe("mnist");
      expect(await page.locator("#model-graph").textContent()).toMatch(/^a chain \(\.onebit 1\.\d\)/);
      expect(await page.locator("#draw-title").textContent()).toBe("1. Draw a digit");
    });

    it("built without the Fashion-MNIST files, loads the model and says the test set is missing", async () => {
      const saved = process.env.ONEBIT_FASHION_MNIST_DIR;
      process.env.ONEBIT_FASHION_MNIST_DIR = path.join(ROOT, "no-such-folder");
      let bare: OpenDemo | undefined;
      try {
        bare = await openDemo({ query: "?demo=fashion" });
        const page = bare.page;
        expect(await page.evaluate(() => (window as DemoWindow).onebitDemo!.demo)).toBe("fashion");
        expect(await page.locator("#test-missing").isVisible()).toBe(true);
        expect(await page.locator("#test-missing").textContent()).toMatch(
          /^The Fashion-MNIST test images are not in this build \(.*HTTP 404\)/,
        );
        expect(await page.locator("#random").isDisabled()).toBe(true);
        expect(await page.locator("#run-test").isDisabled()).toBe(true);
        await expect(
          page.evaluate(() => (window as DemoWindow).onebitDemo!.predictTest([0])),
        ).rejects.toThrow(/not in this build/);
      } finally {
        if (saved === undefined) delete process.env.ONEBIT_FASHION_MNIST_DIR;
        else process.env.ONEBIT_FASHION_MNIST_DIR = saved;
        await bare?.close();
      }
    }, 120_000);
  },
);
