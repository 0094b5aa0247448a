/**
 * The kernel module's exports are declared once, by the AssemblyScript compiler: the
 * committed signatures (src/kernels/wasm/exports.ts) must be what it declares today, a
 * module that differs must fail to load, and calls must match the signatures at compile
 * time (the @ts-expect-error lines fail `npm run typecheck` if the types accept them) and
 * at dispatch.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileDeclarations, exportsModule, parseDeclarations } from "../../scripts/kernel-exports.mjs";
import { bconv2dTableBytes } from "../../src/kernels/binaryTypes.js";
import type { Backend } from "../../src/kernels/index.js";
import { convGeometry, createBackend } from "../../src/kernels/index.js";
import type { Call } from "../../src/kernels/wasm/calls.js";
import { KERNEL_ARITY } from "../../src/kernels/wasm/exports.js";
import { loadKernelModule } from "../../src/kernels/wasm/module.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let two: Backend;
beforeAll(async () => {
  two = await createBackend("wasm", { threads: 2 });
});
afterAll(async () => {
  await two.close?.();
});

describe("kernel export signatures", () => {
  it("src/kernels/wasm/exports.ts is what the compiler declares for assembly/ (run npm run build:wasm)", () => {
    const dts = compileDeclarations(ROOT);
    const committed = readFileSync(path.join(ROOT, "src/kernels/wasm/exports.ts"), "utf8");
    expect(committed).toBe(exportsModule(dts));
    const bgemm = parseDeclarations(dts).find((f) => f.name === "bgemm");
    expect(bgemm).toEqual({
      name: "bgemm",
      file: "assembly/binary/gemm.ts",
      params: [
        ["m", "i32"],
        ["n", "i32"],
        ["words", "i32"],
        ["k", "i32"],
        ["a", "usize"],
        ["b", "usize"],
        ["out", "usize"],
      ],
      result: "void",
    });
  }, 60_000);

  it("a wasm type that is not a JS number is refused", () => {
    const dts = "/**\n * assembly/x/f\n * @param v `i64`\n */\nexport function f(v: bigint): void;";
    expect(() => parseDeclarations(dts)).toThrow(/f' uses the wasm type i64/);
  });

  it("a module that lacks the declared exports fails to load, naming them", async () => {
    const probe = readFileSync(path.join(ROOT, "build/wasm/onebit-probe.wasm"));
    await expect(loadKernelModule({ wasmBytes: probe, flavor: "simd" })).rejects.toThrow(
      /does not match assembly\/ \(heapBase is missing; .*bgemm is missing.*npm run build:wasm/,
    );
  });

  it("the pool refuses a call whose arity differs from the declaration", () => {
    const pool = two.pool!;
    const bad = ["float_fill", 16, 1] as unknown as Call;
    expect(() => pool.run([[bad]])).toThrow("KernelPool.run: float_fill takes 3 arguments, got 2");
    expect(KERNEL_ARITY.float_fill).toBe(3);
  });

  it("calls are typed by export name and argument count", () => {
    const ok: Call = ["bgemm", 1, 2, 1, 32, 0, 0, 0];
    // @ts-expect-error: no such export
    const typo: Call = ["bgemmm", 1, 2, 1, 32, 0, 0, 0];
    // @ts-expect-error: bgemm takes 7 arguments
    const short: Call = ["bgemm", 1, 2, 1, 32, 0, 0];
    expect([ok, typo, short].map((c) => c.length)).toEqual([8, 8, 7]);
  });

  it("the binary conv's scratch size (one TypeScript function) is the kernel's own figure", () => {
    const e = two.module!.exports;
    for (const outC of [1, 16, 32, 64, 96, 128, 512]) {
      for (const c of [1, 32, 64, 100, 128, 512]) {
        for (const w of [3, 7, 14, 56]) {
          const g = convGeometry(1, w, w, c, 3, 3, 1, 1, "same");
          expect(bconv2dTableBytes(g, outC), `outC ${outC} c ${c} w ${w}`).toBe(
            e.bitConvScratchBytes(outC, g.outW, c),
          );
        }
      }
    }
  });
});
