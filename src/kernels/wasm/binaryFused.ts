/** The fused float first layer in WebAssembly (assembly/binary/fused.ts): a thin wrapper. */
import type { FusedFirstLayerKernels } from "../ref/binaryFused.js";
import type { Window2D } from "../types.js";
import type { KernelModule } from "./module.js";

const geometryArgs = (g: Window2D) =>
  [g.n, g.h, g.w, g.c, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW] as const;

export function createWasmFusedKernels(mod: KernelModule): FusedFirstLayerKernels {
  const fn = mod.exports.fusedFloatConvPack;
  if (typeof fn !== "function") {
    throw new Error(
      "onebit: the kernel module lacks fusedFloatConvPack; rebuild it with 'npm run build:wasm'",
    );
  }
  return {
    floatConvPack(g, x, outC, wT, bias, padValue, pool, bn, out, scratch) {
      if (pool.h !== g.outH || pool.w !== g.outW || pool.c !== outC || pool.n !== g.n) {
        throw new RangeError("fusedFloatConvPack: the pool window must run over the conv output");
      }
      fn(
        ...geometryArgs(g),
        x,
        outC,
        wT,
        bias,
        padValue,
        pool.kh,
        pool.kw,
        pool.strideH,
        pool.strideW,
        pool.padTop,
        pool.padLeft,
        pool.outH,
        pool.outW,
        bn?.mean ?? 0,
        bn?.invStd ?? 0,
        bn?.gamma ?? 0,
        bn?.beta ?? 0,
        out,
        scratch,
      );
    },
  };
}
