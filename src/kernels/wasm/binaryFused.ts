/** The fused float first layer in WebAssembly (assembly/binary/fused.ts): a thin wrapper. */

import { geometryArgs } from "../geometry.js";
import { type FusedBatchNorm, type FusedFirstLayerKernels, fusedScratchBytes } from "../ref/binaryFused.js";
import { type Call, type KernelPool, SCRATCH } from "../threads/pool.js";
import { COST, chunksFor, splitRange } from "../threads/split.js";
import type { Window2D } from "../types.js";
import type { KernelModule } from "./module.js";

/**
 * The arguments of fusedFloatConvPack (assembly/binary/fused.ts) after its name, for the
 * images of g (x and out at their first image; scratch may be the pool's SCRATCH).
 */
export function fusedFloatConvPackArgs(
  g: Window2D,
  x: number,
  outC: number,
  wT: number,
  bias: number,
  padValue: number,
  pool: Window2D,
  bn: FusedBatchNorm | null,
  out: number,
  scratch: number,
): number[] {
  return [
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
  ];
}

/** With a pool, images are split across threads (each image is independent; scratch per thread). */
export function createWasmFusedKernels(mod: KernelModule, threads?: KernelPool): FusedFirstLayerKernels {
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
      const rest = (sub: Window2D, xs: number, os: number, sc: number) =>
        fusedFloatConvPackArgs(sub, xs, outC, wT, bias, padValue, pool, bn, os, sc);
      const macs = g.n * g.outH * g.outW * outC * g.kh * g.kw * g.c;
      const chunks = threads && g.n >= 2 ? chunksFor(threads.threads, macs / COST.sgemmMacs) : 1;
      const fits = threads !== undefined && fusedScratchBytes(g, outC) <= threads.scratchBytes;
      if (chunks < 2 || !fits) {
        fn(...rest(g, x, out, scratch));
        return;
      }
      const [inImage, outImage] = [g.h * g.w * g.c * 4, pool.outH * pool.outW * ((outC + 31) >>> 5) * 4];
      threads.run(
        splitRange(g.n, chunks, 1).map(([s0, s1]): Call[] => [
          [
            "fusedFloatConvPack",
            ...rest({ ...g, n: s1 - s0 }, x + s0 * inImage, out + s0 * outImage, SCRATCH),
          ],
        ]),
      );
    },
  };
}
