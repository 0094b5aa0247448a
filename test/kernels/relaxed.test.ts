/**
 * The relaxed-SIMD build (f32x4.relaxed_madd in the float dot products). This process's
 * Node 20 does not validate relaxed SIMD, so "wasm" picks the SIMD build and asking for
 * "wasm-relaxed" fails, saying what is missing. A child Node with
 * --experimental-wasm-relaxed-simd runs fixtures/relaxed-check.mjs on the built package:
 * there "wasm" picks the relaxed build, its sgemm stays within the float32 error bound of
 * the reference, and its multiply-add is fused where the CPU has FMA (x64 FMA3, which
 * every CPU this runs on has; a runtime without it may round twice, which relaxed_madd
 * allows, and the test accepts).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../src/bench/chromium.js";
import { createBackend } from "../../src/kernels/index.js";
import { bestFlavor, relaxedSimdSupported, simdSupported } from "../../src/kernels/wasm/module.js";

describe("relaxed-SIMD kernels", () => {
  it("without the runtime feature: wasm is the SIMD build and wasm-relaxed is refused", async () => {
    expect(simdSupported()).toBe(true);
    expect(relaxedSimdSupported()).toBe(false);
    expect(bestFlavor()).toBe("simd");
    const backend = await createBackend("wasm");
    expect(backend.name).toBe("wasm-simd");
    await expect(createBackend("wasm-relaxed")).rejects.toThrow(
      /relaxed-SIMD kernels were requested but this runtime has no WebAssembly relaxed SIMD \(Node 20 needs --experimental-wasm-relaxed-simd\)/,
    );
  });

  it("with --experimental-wasm-relaxed-simd: picked by default, fused, within the float32 bound", () => {
    const script = path.join(ROOT, "test/kernels/fixtures/relaxed-check.mjs");
    const out = execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", script], {
      encoding: "utf8",
    });
    const facts = JSON.parse(out) as {
      bestFlavor: string;
      names: Record<string, string>;
      products: { shape: number[]; worstOverBound: number; differFromSimd: number }[];
      tie: number;
      tieSimd: number;
    };
    expect(facts.bestFlavor).toBe("relaxed");
    expect(facts.names).toEqual({
      best: "wasm-relaxed",
      relaxed: "wasm-relaxed",
      simd: "wasm-simd",
      ref: "ref",
    });
    for (const p of facts.products) expect(p.worstOverBound, `sgemm ${p.shape}`).toBeLessThanOrEqual(1);
    // Rounded twice, the SIMD build loses the 2^-24; relaxed_madd may fuse (FMA) or not.
    expect(facts.tieSimd).toBe(8192);
    expect([8192, 8193]).toContain(facts.tie);
    // The 64x64x147 product: with FMA most of its 4096 sums differ in their last bits.
    if (facts.tie === 8193) expect(facts.products[0]!.differFromSimd).toBeGreaterThan(100);
  }, 60_000);
});
