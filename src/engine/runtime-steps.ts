/**
 * One executable step per engine layer, for a fixed batch size n: the step owns its output
 * buffer (and scratch) in the backend's heap and reads its input from the previous step's
 * output. Shapes and geometry are computed once, when the plan is built; `run()` only
 * calls kernels. Float layers call the float kernels in the same order as the training
 * graph's ops (im2col, sgemm, then the bias add; batch norm as ((x - mean) * invStd) * gamma + beta, step by step), so
 * their results are the same float32 values.
 */

import {
  bconv2dScratchWords,
  bconv2dThresholdScratchWords,
  isPointwise,
  type PadValue,
  preferIm2col,
} from "../kernels/binaryTypes.js";
import { convGeometry, readsPadding, type WindowPadding } from "../kernels/geometry.js";
import type { Backend } from "../kernels/index.js";
import { FUSED_MAX_DEPTH, fusedScratchBytes } from "../kernels/ref/binaryFused.js";
import { SCRATCH } from "../kernels/threads/protocol.js";
import type { Window2D } from "../kernels/types.js";
import {
  affineJob,
  bgemmJob,
  type DirectConv,
  directConvJob,
  im2colConvSteps,
  maxPoolJob,
  packJob,
  threadCopy,
  thresholdJob,
  unpackJob,
  xorRowsJob,
} from "../kernels/wasm/binaryCalls.js";
import { createWasmFusedKernels, floatConvJob } from "../kernels/wasm/binaryFused.js";
import { byImages, type Call, invoke, type Job, partition, type Runner } from "../kernels/wasm/calls.js";
import {
  batchNormForwardJob,
  convRowsFit,
  depthwiseJob,
  floatConvRowsJob,
} from "../kernels/wasm/floatCalls.js";
import type { ActivationSpec, Layer, MaxPoolLayer } from "./model.js";
import { shapeSize } from "./model.js";
import { activationLength, type Buffer, Buffers, type SpareBlocks, type Step } from "./runtime-buffers.js";
import { type LayerWeights, transposeConvWeights } from "./runtime-weights.js";

/**
 * A binary conv's padded-copy tables (BinaryKernels.convTables), made once when the step is
 * built, so that no run, and no thread's share of one, remakes them; 0 where the conv has
 * no padded copy (no `scratch`) or the backend makes no tables.
 */
export function convTables(
  bufs: Buffers,
  backend: Backend,
  g: Window2D,
  padValue: PadValue,
  outC: number,
  weights: number,
  thr: number,
  scratch: number,
): number {
  const bytes = scratch ? backend.binary.convTablesBytes(outC) : 0;
  if (!bytes) return 0;
  const tables = bufs.take(Math.ceil(bytes / 4)).ptr;
  backend.binary.convTables(g, padValue, outC, weights, thr, tables);
  return tables;
}

/**
 * `job` where the runtime may run it per image chunk on the pool: a kernel module, a pool
 * with room for the job's per-thread scratch, and not for `trace` (without `fuse`).
 */
export function poolJob(backend: Backend, fuse: boolean, job: Job): Job | undefined {
  const pool = backend.pool;
  return fuse && pool && backend.module && job.threadScratch <= pool.scratchBytes ? job : undefined;
}

export function windowOf(
  n: number,
  spec: ActivationSpec,
  k: [number, number],
  s: [number, number],
  padding: WindowPadding,
): Window2D {
  const [h, w, c] = spec.shape as [number, number, number];
  return convGeometry(n, h, w, c, k[0], k[1], s[0], s[1], padding);
}

/**
 * Builds the step for `layer` at batch size n. `input` is its (first) input's buffer
 * (undefined for the input layer, which the runtime fills itself); `others` the further
 * inputs of add and concat. With `fuse`, a binary
 * conv runs with its output transform as one kernel (conv2dThreshold or conv2dAffine, the
 * same bits and floats) and keeps no int32 pre-activation; without it (Engine.trace) every
 * intermediate is kept.
 */
export function makeStep(
  backend: Backend,
  layer: Layer,
  weights: LayerWeights,
  n: number,
  input: Buffer | undefined,
  fuse = false,
  others: readonly Buffer[] = [],
  spare?: SpareBlocks,
): Step {
  const bufs = new Buffers(backend, spare);
  const F = backend.float;
  const B = backend.binary;
  const outLength = n * activationLength(layer.out);
  const x = input?.ptr ?? 0;
  const step = (out: Buffer, run: () => void, preActivation?: Buffer, job?: Job): Step => ({
    layer,
    out,
    preActivation,
    run,
    job,
    free: () => bufs.free(),
    releaseOutput: () => bufs.release(out.ptr, out.length),
  });
  const perImage = (...jobs: Job[]) => poolJob(backend, fuse, byImages(n, ...jobs));
  switch (layer.kind) {
    case "input":
      return step(bufs.out(outLength), () => {});
    case "float_conv2d":
    case "bwn_conv2d": {
      const [o, kh, kw] = layer.weights.shape as [number, number, number];
      const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
      const pixels = n * g.outH * g.outW;
      const k = kh * kw * g.c;
      const out = bufs.out(outLength);
      const bias = weights.bias ?? 0;
      // A 1x1 stride-1 conv without padding reads its input as the im2col matrix.
      const pointwise = kh === 1 && kw === 1 && g.strideH === 1 && g.strideW === 1 && !readsPadding(g);
      const mod = backend.module;
      if (!pointwise && mod && k <= FUSED_MAX_DEPTH) {
        // The direct conv (floatConvRows): windows read in place, no im2col matrix, and the
        // same sums as im2col + sgemm + bias. Stems measured 1.4x (Bi-Real's 7x7x3 -> 64)
        // to 2x (QuickNet's 3x3x3 -> 16) faster than the row bands below.
        const wT = bufs.take(k * o).ptr;
        transposeConvWeights(backend, weights.weights, o, k, wT);
        const scratch = bufs.take(Math.ceil(fusedScratchBytes(g, o) / 4)).ptr;
        const direct = createWasmFusedKernels(mod, backend.pool);
        const p = { g, x, outC: o, wT, bias, padValue: layer.padValue, out: out.ptr };
        const run = () => direct.floatConv(g, x, o, wT, bias, layer.padValue, out.ptr, scratch);
        return step(out, run, undefined, perImage(floatConvJob(p)));
      }
      const cols = pointwise ? { ptr: x } : bufs.take(pixels * k);
      if (!pointwise && mod && convRowsFit(g)) {
        // In bands of output rows: each band's columns stay in cache, and bands split
        // across threads (im2col too); the same sums as over the whole matrix.
        const job = floatConvRowsJob(g, layer.padValue, x, weights.weights, o, bias, cols.ptr, out.ptr);
        const scratch = bufs.take(mod.exports.float_sgemmScratchBytes() / 4).ptr;
        const runner: Runner = { exports: mod.exports, pool: backend.pool, slowdown: 1 };
        const run = () => {
          const ranges = partition(runner, job);
          if (ranges) backend.pool!.run(ranges.map(([s, e]) => job.part(s, e)));
          else for (const call of job.part(0, job.units)) invoke(mod.exports, withScratch(call, scratch));
        };
        return step(out, run, undefined, perImage(job));
      }
      return step(out, () => {
        if (!pointwise) F.im2col(g, x, layer.padValue, cols.ptr);
        F.sgemm(false, true, pixels, o, k, 1, cols.ptr, k, weights.weights, k, 0, out.ptr, o);
        if (bias) F.binaryRow("add", pixels, o, out.ptr, bias, out.ptr);
      });
    }
    case "float_dense":
    case "bwn_dense": {
      const [o, k] = layer.weights.shape as [number, number];
      const out = bufs.out(outLength);
      return step(out, () => {
        F.sgemm(false, true, n, o, k, 1, x, k, weights.weights, k, 0, out.ptr, o);
        if (weights.bias) F.binaryRow("add", n, o, out.ptr, weights.bias, out.ptr);
      });
    }
    case "bitpack": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.out(outLength);
      if (layer.thresholds) {
        // bit = x >= t, as sign(fround(x - t)): the difference keeps the sign of the exact one.
        const shifted = bufs.take(rows * c);
        return step(out, () => {
          F.binaryRow("sub", rows, c, x, weights.weights, shifted.ptr);
          B.pack(rows, c, shifted.ptr, out.ptr);
        });
      }
      return step(out, () => B.pack(rows, c, x, out.ptr), undefined, perImage(packJob(rows, c, x, out.ptr)));
    }
    case "unpack": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.out(outLength);
      const job = perImage(unpackJob(rows, c, x, out.ptr));
      return step(out, () => B.unpack(rows, c, x, out.ptr), undefined, job);
    }
    case "binary_conv2d": {
      const [o, kh, kw] = layer.weights.shape as [number, number, number];
      const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
      const rows = n * g.outH * g.outW;
      const t = weights.transform;
      if (fuse && t?.kind === "affine" && !preferIm2col(g) && !isPointwise(g)) {
        const out = bufs.out(outLength);
        const scratchWords = bconv2dThresholdScratchWords(g, o);
        const scratch = scratchWords ? bufs.take(scratchWords).ptr : 0;
        const tables = convTables(bufs, backend, g, layer.padValue, o, weights.weights, 0, scratch);
        const p: DirectConv = {
          g,
          padValue: layer.padValue,
          outC: o,
          x,
          weights: weights.weights,
          thr: 0,
          flip: 0,
          out: out.ptr,
          scale: t.scale,
          bias: t.bias,
          tables,
        };
        const job = directConvJob(p, threadCopy(p, scratch, backend.pool?.scratchBytes ?? 0));
        const run = () =>
          B.conv2dAffine(
            g,
            layer.padValue,
            o,
            x,
            weights.weights,
            t.scale,
            t.bias,
            out.ptr,
            scratch,
            0,
            tables,
          );
        return step(out, run, undefined, perImage(job));
      }
      if (fuse && t?.kind === "threshold" && !preferIm2col(g)) {
        const out = bufs.out(outLength);
        const scratchWords = bconv2dThresholdScratchWords(g, o);
        const scratch = scratchWords ? bufs.take(scratchWords).ptr : 0;
        // Per image chunk: the chunk's padded copy (where the wrapper's threads would make
        // one), then the conv, with the tables made here once.
        const tables = convTables(
          bufs,
          backend,
          g,
          layer.padValue,
          o,
          weights.weights,
          t.thresholds,
          scratch,
        );
        const p: DirectConv = {
          g,
          padValue: layer.padValue,
          outC: o,
          x,
          weights: weights.weights,
          thr: t.thresholds,
          flip: t.flip,
          out: out.ptr,
          tables,
        };
        const job = directConvJob(p, threadCopy(p, scratch, backend.pool?.scratchBytes ?? 0));
        return step(
          out,
          () =>
            B.conv2dThreshold(
              g,
              layer.padValue,
              o,
              x,
              weights.weights,
              t.thresholds,
              t.flip,
              out.ptr,
              scratch,
              tables,
            ),
          undefined,
          perImage(job),
        );
      }
      const cols = bufs.take(bconv2dScratchWords(g));
      const pre = bufs.take(rows * o);
      const out = bufs.out(outLength);
      const transform = outputTransform(backend, weights, rows, o, pre.ptr, out.ptr);
      // The im2col path of conv2d, per image chunk; the pointwise and direct paths stay whole-batch.
      const conv = im2colConvSteps(g, layer.padValue, o, x, weights.weights, cols.ptr, pre.ptr);
      const job = perImage(...conv, transformJob(weights, rows, o, pre.ptr, out.ptr));
      return step(
        out,
        () => {
          B.conv2d(g, layer.padValue, o, x, weights.weights, cols.ptr, pre.ptr);
          transform();
        },
        pre,
        preferIm2col(g) ? job : undefined,
      );
    }
    case "binary_dense": {
      const [o, k] = layer.weights.shape as [number, number];
      const pre = bufs.take(n * o);
      const out = bufs.out(outLength);
      const transform = outputTransform(backend, weights, n, o, pre.ptr, out.ptr);
      const words = (k + 31) >>> 5;
      const job = perImage(
        bgemmJob(n, o, words, k, x, weights.weights, pre.ptr),
        transformJob(weights, n, o, pre.ptr, out.ptr),
      );
      return step(
        out,
        () => {
          B.bgemm(n, o, words, k, x, weights.weights, pre.ptr);
          transform();
        },
        pre,
        job,
      );
    }
    case "maxpool":
      return maxPoolStep(backend, bufs, layer, weights, n, x, outLength, step, perImage);
    case "avgpool": {
      const g = windowOf(n, layer.in, layer.poolSize, layer.strides, layer.padding);
      const out = bufs.out(outLength);
      return step(out, () => F.avgPool(g, x, out.ptr));
    }
    case "batchnorm": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.out(outLength);
      const p = weights.batchNorm!;
      // One pass with the training graph's float32 steps: ((x - mean) * invStd) * gamma + beta.
      const job = batchNormForwardJob(rows, c, x, p.mean, p.invStd, p.gamma, p.beta, out.ptr, 0);
      return step(
        out,
        () => F.batchNormForward(rows, c, x, p.mean, p.invStd, p.gamma, p.beta, out.ptr, 0),
        undefined,
        perImage(job),
      );
    }
    case "flatten": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      // Floats, and bits whose pixels fill whole words, are already laid out flat.
      if (layer.in.layout === "float" || c % 32 === 0 || layer.in.shape.length === 1) {
        return step({ ptr: x, length: outLength }, () => {}, undefined, perImage());
      }
      const out = bufs.out(outLength);
      const pixels = n * (shapeSize(layer.in.shape) / c);
      const perSample = shapeSize(layer.in.shape) / c;
      return step(out, () => repackBits(backend, pixels, perSample, c, x, out.ptr));
    }
    case "relu": {
      const out = bufs.out(outLength);
      return step(out, () => F.unary("relu", outLength, x, out.ptr));
    }
    case "softmax": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const out = bufs.out(outLength);
      return step(out, () => softmaxRows(backend, outLength / c, c, x, out.ptr));
    }
    case "add": {
      const out = bufs.out(outLength);
      return step(out, () => {
        F.binary("add", outLength, x, others[0]!.ptr, out.ptr);
        for (const o of others.slice(1)) F.binary("add", outLength, out.ptr, o.ptr, out.ptr);
      });
    }
    case "concat": {
      const out = bufs.out(outLength);
      return step(out, () => concatRows(backend, n, layer.out.shape, [input!, ...others], out.ptr));
    }
    case "globalavgpool": {
      const [h, w] = layer.in.shape as [number, number, number];
      const g = windowOf(n, layer.in, [h, w], [h, w], "valid");
      const out = bufs.out(outLength);
      return step(out, () => F.avgPool(g, x, out.ptr));
    }
    case "prelu": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const out = bufs.out(outLength);
      return step(out, () => {
        const heap = backend.heap;
        const X = heap.f32At(x, outLength);
        const A = heap.f32At(weights.weights, c);
        const Y = heap.f32At(out.ptr, outLength);
        for (let i = 0; i < outLength; i++) {
          const v = X[i]!;
          Y[i] = v >= 0 ? v : A[i % c]! * v;
        }
      });
    }
    case "shift": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const out = bufs.out(outLength);
      return step(out, () => F.binaryRow("add", outLength / c, c, x, weights.bias!, out.ptr));
    }
    case "depthwise_conv2d": {
      const [kh, kw] = layer.weights.shape as [number, number, number];
      const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
      const out = bufs.out(outLength);
      const run = () => {
        F.depthwise(g, x, weights.weights, out.ptr);
        if (weights.bias) F.binaryRow("add", outLength / g.c, g.c, out.ptr, weights.bias, out.ptr);
      };
      const job = weights.bias ? undefined : perImage(depthwiseJob(g, x, weights.weights, out.ptr));
      return step(out, run, undefined, job);
    }
    default:
      throw new Error(`engine: no step for layer kind '${(layer as { kind: string }).kind}'`);
  }
}

function outputTransform(
  backend: Backend,
  w: LayerWeights,
  rows: number,
  c: number,
  pre: number,
  out: number,
): () => void {
  const t = w.transform!;
  if (t.kind === "threshold")
    return () => backend.binary.thresholdPack(rows, c, pre, t.thresholds, t.flip, out);
  return () => backend.binary.affine(rows, c, pre, t.scale, t.bias, out);
}

/** The output transform of `rows` rows as a job over them. */
function transformJob(w: LayerWeights, rows: number, c: number, pre: number, out: number): Job {
  const t = w.transform!;
  return t.kind === "threshold"
    ? thresholdJob(rows, c, pre, t.thresholds, t.flip, out)
    : affineJob(rows, c, pre, t.scale, t.bias, out);
}

function maxPoolStep(
  backend: Backend,
  bufs: Buffers,
  layer: MaxPoolLayer,
  weights: LayerWeights,
  n: number,
  x: number,
  outLength: number,
  step: (out: Buffer, run: () => void, pre?: Buffer, job?: Job) => Step,
  perImage: (...jobs: Job[]) => Job | undefined,
): Step {
  const g = windowOf(n, layer.in, layer.poolSize, layer.strides, layer.padding);
  const out = bufs.out(outLength);
  if (layer.in.layout === "float") {
    return step(out, () => backend.float.maxPool(g, x, out.ptr, 0));
  }
  if (!weights.flip) {
    const job = perImage(maxPoolJob(g, x, out.ptr));
    return step(out, () => backend.binary.maxPool(g, x, out.ptr), undefined, job);
  }
  // Flipped channels hold NOT(x >= T): the max of x is the AND of their bits, i.e.
  // y = OR(bits XOR flip) XOR flip.
  const words = (g.c + 31) >>> 5;
  const inWords = n * g.h * g.w * words;
  const flipped = bufs.take(inWords);
  const flip = weights.flip;
  return step(
    out,
    () => {
      xorRows(backend, inWords / words, words, x, flip, flipped.ptr);
      backend.binary.maxPool(g, flipped.ptr, out.ptr);
      xorRows(backend, outLength / words, words, out.ptr, flip, out.ptr);
    },
    undefined,
    perImage(
      xorRowsJob(inWords / words, words, x, flip, flipped.ptr),
      maxPoolJob(g, flipped.ptr, out.ptr),
      xorRowsJob(outLength / words, words, out.ptr, flip, out.ptr),
    ),
  );
}

/** out[r, i] = x[r, i] XOR mask[i] over uint32 words (the kernel module's bitXorRows where there is one). */
function xorRows(backend: Backend, rows: number, words: number, x: number, mask: number, out: number): void {
  if (backend.module) {
    for (const call of xorRowsJob(rows, words, x, mask, out).part(0, rows))
      invoke(backend.module.exports, call);
    return;
  }
  const u = backend.heap.u32();
  const X = x >>> 2;
  const O = out >>> 2;
  const M = mask >>> 2;
  for (let r = 0; r < rows; r++) {
    const base = r * words;
    for (let i = 0; i < words; i++) u[O + base + i] = u[X + base + i]! ^ u[M + i]!;
  }
}

/** Repacks [samples, pixels, c] bits (ceil(c/32) words per pixel) into flat rows of pixels*c bits. */
function repackBits(
  backend: Backend,
  totalPixels: number,
  pixelsPerSample: number,
  c: number,
  x: number,
  out: number,
): void {
  const u = backend.heap.u32();
  const inWords = (c + 31) >>> 5;
  const flatBits = pixelsPerSample * c;
  const outWords = (flatBits + 31) >>> 5;
  const samples = totalPixels / pixelsPerSample;
  const O = out >>> 2;
  u.fill(0, O, O + samples * outWords);
  for (let s = 0; s < samples; s++) {
    for (let p = 0; p < pixelsPerSample; p++) {
      const src = (x >>> 2) + (s * pixelsPerSample + p) * inWords;
      for (let j = 0; j < c; j++) {
        if ((u[src + (j >>> 5)]! >>> (j & 31)) & 1) {
          const bit = p * c + j;
          u[O + s * outWords + (bit >>> 5)]! |= 1 << (bit & 31);
        }
      }
    }
  }
}

/** Row-wise softmax in float64, rounded once per output: exp(x - max) / sum. */
function softmaxRows(backend: Backend, rows: number, c: number, x: number, out: number): void {
  const X = backend.heap.f32At(x, rows * c);
  const Y = backend.heap.f32At(out, rows * c);
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) max = Math.max(max, X[r * c + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(X[r * c + j]! - max);
    for (let j = 0; j < c; j++) Y[r * c + j] = Math.exp(X[r * c + j]! - max) / sum;
  }
}

/** Copies the inputs' channels side by side: out[p, :] = [in0[p, :], in1[p, :], ...]. */
function concatRows(
  backend: Backend,
  n: number,
  outShape: readonly number[],
  inputs: readonly Buffer[],
  out: number,
): void {
  const c = outShape[outShape.length - 1]!;
  const pixels = (n * shapeSize(outShape)) / c;
  const heap = backend.heap;
  const Y = heap.f32At(out, pixels * c);
  let offset = 0;
  for (const b of inputs) {
    const w = b.length / pixels;
    const X = heap.f32At(b.ptr, b.length);
    for (let p = 0; p < pixels; p++) Y.set(X.subarray(p * w, (p + 1) * w), p * c + offset);
    offset += w;
  }
}

/** `call` with SCRATCH replaced by `scratch` (to run it on this thread, outside the pool). */
function withScratch(call: Call, scratch: number): Call {
  return call.map((a) => (a === SCRATCH ? scratch : a)) as unknown as Call;
}
