/**
 * The fused float first layer: float_conv2d -> [maxpool] -> [batchnorm] -> bitpack run as
 * one kernel (kernels/ref|wasm/binaryFused.ts) that keeps each pixel's outputs in
 * registers and writes packed bits. Its results are bit-identical to the unfused steps
 * (the kernel sums the convolution in the sgemm micro-kernel's order), as long as the
 * depth K = kh * kw * c fits one sgemm depth block; deeper layers are not fused.
 * `Engine.trace` runs the unfused steps, which expose every intermediate.
 */
import { convGeometry } from "../kernels/geometry.js";
import type { Backend } from "../kernels/index.js";
import {
  createRefFusedKernels,
  FUSED_MAX_DEPTH,
  type FusedFirstLayerKernels,
  fusedScratchBytes,
} from "../kernels/ref/binaryFused.js";
import { createWasmFusedKernels, fusedConvPackJob } from "../kernels/wasm/binaryFused.js";
import type { BatchNormLayer, BwnConv2DLayer, FloatConv2DLayer, Layer, MaxPoolLayer } from "./model.js";
import { activationLength, type Buffer, type Step } from "./runtime-buffers.js";
import { poolJob } from "./runtime-steps.js";
import { type LayerWeights, transposeConvWeights } from "./runtime-weights.js";

/** The backend's fused kernels. */
export function fusedKernels(backend: Backend): FusedFirstLayerKernels {
  if (!backend.module) return createRefFusedKernels(backend.heap);
  return createWasmFusedKernels(backend.module, backend.pool);
}

/** A run of layers starting at `start` that one fused step replaces, or null. */
export interface FusedRun {
  /** A BWN conv runs on its expanded float weights, like a float conv. */
  conv: FloatConv2DLayer | BwnConv2DLayer;
  pool?: MaxPoolLayer;
  bn?: BatchNormLayer;
  /** Index of the bitpack layer that ends the run. */
  end: number;
}

export function findFusedRun(layers: readonly Layer[], start: number): FusedRun | null {
  const conv = layers[start];
  if (conv?.kind !== "float_conv2d" && conv?.kind !== "bwn_conv2d") return null;
  const [, kh, kw, c] = conv.weights.shape as [number, number, number, number];
  if (kh * kw * c > FUSED_MAX_DEPTH) return null;
  let i = start + 1;
  let pool: MaxPoolLayer | undefined;
  let bn: BatchNormLayer | undefined;
  const next = layers[i];
  if (next?.kind === "maxpool" && next.in.layout === "float") {
    pool = next;
    i++;
  }
  const after = layers[i];
  if (after?.kind === "batchnorm") {
    bn = after;
    i++;
  }
  // The fused kernel packs by sign: a thresholded bitpack (RSign) runs unfused.
  const pack = layers[i];
  return pack?.kind === "bitpack" && pack.thresholds === undefined ? { conv, pool, bn, end: i } : null;
}

/** The step for a fused run at batch size n, reading x and producing the bitpack layer's output. */
export function makeFusedStep(
  backend: Backend,
  kernels: FusedFirstLayerKernels,
  run: FusedRun,
  weights: readonly LayerWeights[],
  start: number,
  n: number,
  x: Buffer,
  pack: Layer,
): Step {
  const heap = backend.heap;
  const { conv, pool, bn } = run;
  const [o, kh, kw, c] = conv.weights.shape as [number, number, number, number];
  const [h, w] = conv.in.shape as [number, number];
  const g = convGeometry(n, h, w, c, kh, kw, conv.strides[0], conv.strides[1], conv.padding);
  const pg = pool
    ? convGeometry(
        n,
        g.outH,
        g.outW,
        o,
        pool.poolSize[0],
        pool.poolSize[1],
        pool.strides[0],
        pool.strides[1],
        pool.padding,
      )
    : convGeometry(n, g.outH, g.outW, o, 1, 1, 1, 1, "valid");
  const owned: number[] = [];
  const take = (bytes: number) => {
    const p = heap.alloc(bytes);
    owned.push(p);
    return p;
  };
  const k = kh * kw * c;
  const wT = take(k * o * 4);
  transposeConvWeights(backend, weights[start]!.weights, o, k, wT);
  const scratch = take(fusedScratchBytes(g, o));
  const outLength = n * activationLength(pack.out);
  const out = take(outLength * 4);
  const bnWeights = bn ? weights[run.end - 1]!.batchNorm! : null;
  const bias = weights[start]!.bias ?? 0;
  // Per image chunk on the pool (runtime.ts), each thread with its own scratch.
  const p = { g, x: x.ptr, outC: o, wT, bias, padValue: conv.padValue, pool: pg, bn: bnWeights, out };
  const job = poolJob(backend, true, fusedConvPackJob(p));
  return {
    layer: pack,
    out: { ptr: out, length: outLength },
    run: () => kernels.floatConvPack(g, x.ptr, o, wT, bias, conv.padValue, pg, bnWeights, out, scratch),
    job,
    free: () => {
      for (const p of owned) heap.free(p);
      owned.length = 0;
    },
  };
}
