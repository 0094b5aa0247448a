/**
 * The fused float first layer in WebAssembly (assembly/binary/fused.ts), and the direct
 * float conv beside it (floatConvRows): their call builders and thin wrappers. With a pool, images are split across threads (each image is
 * independent; each thread has its own scratch).
 */

import { type GeometryArgs, geometryArgs } from "../geometry.js";
import { type FusedBatchNorm, type FusedFirstLayerKernels, fusedScratchBytes } from "../ref/binaryFused.js";
import type { KernelPool } from "../threads/pool.js";
import { SCRATCH } from "../threads/protocol.js";
import { COST } from "../threads/split.js";
import type { Window2D } from "../types.js";
import { type Call, invoke, type Job, runJob } from "./calls.js";
import type { KernelModule } from "./module.js";

/** floatConvRows' operands: x [n, h, w, c] float32 to out [n, outH, outW, outC] float32. */
export interface FloatConv {
  readonly g: Window2D;
  readonly x: number;
  readonly outC: number;
  readonly wT: number;
  readonly bias: number;
  readonly padValue: number;
  readonly out: number;
}

/** fusedFloatConvPack's operands: the conv's, with out packed bits and pool the window over the conv output. */
export interface FusedConvPack extends FloatConv {
  readonly pool: Window2D;
  readonly bn: FusedBatchNorm | null;
}

/** The operands both kernels begin with, for images [s, e): geometry, x, outC, wT, bias, padValue. */
function convOperands(
  p: FloatConv,
  s: number,
  e: number,
): [...GeometryArgs, number, number, number, number, number] {
  const g = p.g;
  return [...geometryArgs(g, e - s), p.x + s * g.h * g.w * g.c * 4, p.outC, p.wT, p.bias, p.padValue];
}

/** fusedFloatConvPack over images [s, e), with `scratch` (fusedScratchBytes; SCRATCH on the pool). */
export function fusedConvPackCall(p: FusedConvPack, s: number, e: number, scratch: number): Call {
  const { pool, bn } = p;
  const outImage = pool.outH * pool.outW * ((p.outC + 31) >>> 5) * 4;
  return [
    "fusedFloatConvPack",
    ...convOperands(p, s, e),
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
    p.out + s * outImage,
    scratch,
  ];
}

/** The fused layer over images, each thread in its own scratch. */
export function fusedConvPackJob(p: FusedConvPack): Job {
  const g = p.g;
  return {
    units: g.n,
    unit: 1,
    micros: (g.n * g.outH * g.outW * p.outC * g.kh * g.kw * g.c) / COST.sgemmMacs,
    threadScratch: fusedScratchBytes(g, p.outC),
    part: (s, e) => [fusedConvPackCall(p, s, e, SCRATCH)],
  };
}

/** floatConvRows over images [s, e), output rows [r0, r1) of each, with `scratch` (fusedScratchBytes; SCRATCH on the pool). */
export function floatConvRowsCall(
  p: FloatConv,
  s: number,
  e: number,
  r0: number,
  r1: number,
  scratch: number,
): Call {
  const outImage = p.g.outH * p.g.outW * p.outC * 4;
  return ["floatConvRows", ...convOperands(p, s, e), p.out + s * outImage, scratch, r0, r1];
}

/** The direct float conv over images, or a single image over its output rows, each thread in its own scratch. */
export function floatConvJob(p: FloatConv): Job {
  const g = p.g;
  const byImages = g.n >= 2;
  return {
    units: byImages ? g.n : g.outH,
    unit: 1,
    micros: (g.n * g.outH * g.outW * p.outC * g.kh * g.kw * g.c) / COST.sgemmMacs,
    threadScratch: fusedScratchBytes(g, p.outC),
    part: (s, e) => [
      byImages ? floatConvRowsCall(p, s, e, 0, g.outH, SCRATCH) : floatConvRowsCall(p, 0, 1, s, e, SCRATCH),
    ],
  };
}

export function createWasmFusedKernels(mod: KernelModule, threads?: KernelPool): FusedFirstLayerKernels {
  // This job's cost is not scaled for the scalar build (slowdown 1).
  const runner = { exports: mod.exports, pool: threads, slowdown: 1 };
  return {
    floatConv(g, x, outC, wT, bias, padValue, out, scratch) {
      const p: FloatConv = { g, x, outC, wT, bias, padValue, out };
      runJob(runner, floatConvJob(p), () =>
        invoke(mod.exports, floatConvRowsCall(p, 0, g.n, 0, g.outH, scratch)),
      );
    },
    floatConvPack(g, x, outC, wT, bias, padValue, pool, bn, out, scratch) {
      if (pool.h !== g.outH || pool.w !== g.outW || pool.c !== outC || pool.n !== g.n) {
        throw new RangeError("fusedFloatConvPack: the pool window must run over the conv output");
      }
      const p: FusedConvPack = { g, x, outC, wT, bias, padValue, pool, bn, out };
      runJob(runner, fusedConvPackJob(p), () => invoke(mod.exports, fusedConvPackCall(p, 0, g.n, scratch)));
    },
  };
}
