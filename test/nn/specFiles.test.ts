/**
 * The model specs committed in bench/specs/ (the ones the saved accuracy runs trained and
 * the browser demo's Fashion-MNIST model uses) still resolve and build as the code changes,
 * keep the shape the results describe (every hidden conv binary, the stem and the head
 * float), and have the size the results record.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { summarizeSpec } from "../../src/analysis/summary.js";
import { buildModel } from "../../src/nn/build.js";
import { resolveSpec } from "../../src/nn/spec.js";
import { createContext } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

const SPECS = path.resolve(import.meta.dirname, "../../bench/specs");

describe("bench/specs/residual-v2.json", () => {
  const file = path.join(SPECS, "residual-v2.json");
  const { spec } = resolveSpec(JSON.parse(readFileSync(file, "utf8")), file);

  it("resolves, builds and has the size of its saved runs", async () => {
    const ctx = await createContext("ref");
    const m = buildModel(ctx, spec, new Random(0));
    expect(m.paramCounts()).toEqual({ binary: 479_232, float: 13_172 }); // the runs' logs
    m.dispose();
    const summary = await summarizeSpec(spec, file);
    expect(summary.inputShape).toEqual([28, 28, 1]);
    expect(summary.totals.binaryParams).toBe(479_232);
    expect(summary.totals.params - summary.totals.binaryParams).toBe(14_536);
  });

  it("binarizes every hidden conv; the stem and the head are float", () => {
    const weighted = spec.layers.filter((l) => l.type === "quant_conv2d" || l.type === "quant_dense");
    const [stem, ...rest] = weighted;
    const head = rest.pop()!;
    expect(stem!.config.inputQuantizer).toBeNull();
    expect(head.type).toBe("quant_dense");
    expect(head.config.inputQuantizer).toBeNull();
    expect(rest).toHaveLength(8);
    for (const l of rest) {
      expect(l.config.inputQuantizer, l.name).toEqual({ name: "ste_sign" });
      expect(l.config.kernelQuantizer, l.name).toEqual({ name: "ste_sign" });
    }
    expect(spec.layers.filter((l) => l.type === "add")).toHaveLength(8);
  });
});
