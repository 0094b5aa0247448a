// The README's "models as code" example, run as written: a residual BNN defined with the
// functional API trains past 90% on a 5,000-image MNIST slice.
import { expect, it } from "vitest";
import { createContext, input, layers, loadDataset, model, train } from "../src/index.js";

it("README example: a residual BNN written as code trains on a 5,000-image MNIST slice", async () => {
  // --- as in the README ---
  const bin = { inputQuantizer: "ste_sign", kernelQuantizer: "ste_sign", padding: "same" } as const;
  const x = input({ shape: [28, 28, 1] });
  let h = layers.conv2d({ filters: 32, padding: "same", name: "stem" }).apply(x); // float first layer
  h = layers.batchNorm().apply(layers.maxPool().apply(h));
  const branch = layers
    .batchNorm()
    .apply(layers.quantConv2d({ filters: 32, ...bin, name: "block_conv" }).apply(h));
  h = layers.add({ name: "block_add" }).apply([h, branch]); // the real-valued shortcut
  h = layers.batchNorm().apply(layers.maxPool().apply(layers.quantConv2d({ filters: 64, ...bin }).apply(h)));
  h = layers.quantDense({ units: 10, inputQuantizer: "ste_sign" }).apply(layers.flatten().apply(h));
  const spec = model({ inputs: x, outputs: layers.batchNorm().apply(h), name: "tiny-residual" });

  const data = await loadDataset("mnist", { limitTrain: 5000 });
  const ctx = await createContext("wasm");
  const result = await train({
    ctx,
    data,
    config: { model: spec, epochs: 3, batchSize: 64, lr: 3e-3 },
    progress: "quiet",
  });
  // ---
  expect(result.testAccuracy).toBeGreaterThan(0.9);
  expect(result.model.names).toContain("block_add");
  expect(JSON.parse(JSON.stringify(spec))).toEqual(result.model.spec);
  result.model.dispose();
});
