/**
 * One executable step per engine layer, for a fixed batch size n: the step owns its output
 * buffer (and scratch) in the backend's heap and reads its input from the previous step's
 * output. Shapes and geometry are computed once, when the plan is built; `run()` only
 * calls kernels. Float layers call the float kernels in the same order as the training
 * graph's ops (im2col, sgemm, then the bias add; batch norm as ((x - mean) * invStd) * gamma + beta, step by step), so
 * their results are the same float32 values.
 */

import { bconv2dScratchWords, bconv2dThresholdScratchWords, preferIm2col } from "../kernels/binaryTypes.js";
import { convGeometry, geometryArgs, readsPadding } from "../kernels/geometry.js";
import type { Backend } from "../kernels/index.js";
import { type Call, SCRATCH } from "../kernels/threads/pool.js";
import type { Window2D } from "../kernels/types.js";
import { bitPadImagesArgs } from "../kernels/wasm/binary.js";
import type { ActivationSpec, Layer, MaxPoolLayer } from "./model.js";
import { shapeSize, storageLength } from "./model.js";
import type { LayerWeights } from "./runtime-weights.js";

/** A buffer in the heap: byte offset and the number of 4-byte elements it holds. */
export interface Buffer {
  ptr: number;
  length: number;
}

export interface Step {
  readonly layer: Layer;
  /** The layer's output activation for the whole batch. */
  readonly out: Buffer;
  /** Binary layers: the int32 dot values [rows, outC] before the output transform. */
  readonly preActivation?: Buffer;
  run(): void;
  /**
   * The kernel calls that do this step for images [start, start + count) alone, so that
   * the runtime can run several steps per chunk of images in one pool dispatch. Absent
   * where the step runs TypeScript, has no kernel module or no pool, or keeps
   * intermediates for `trace`.
   */
  readonly calls?: (start: number, count: number) => Call[];
  /** Frees the step's buffers (not the weights). */
  free(): void;
}

/** Storage elements of one sample's activation (bits: words). */
export function activationLength(spec: ActivationSpec): number {
  return storageLength(spec.layout === "bits" ? "bits" : "f32", spec.shape);
}

class Buffers {
  private readonly owned: number[] = [];
  constructor(private readonly backend: Backend) {}
  take(length: number): Buffer {
    const ptr = this.backend.heap.alloc(Math.max(length, 1) * 4);
    this.owned.push(ptr);
    return { ptr, length };
  }
  free(): void {
    for (const p of this.owned) this.backend.heap.free(p);
    this.owned.length = 0;
  }
}

function windowOf(
  n: number,
  spec: ActivationSpec,
  k: [number, number],
  s: [number, number],
  padding: "valid" | "same",
): Window2D {
  const [h, w, c] = spec.shape as [number, number, number];
  return convGeometry(n, h, w, c, k[0], k[1], s[0], s[1], padding);
}

/**
 * Builds the step for `layer` at batch size n. `input` is the previous step's output
 * (undefined for the input layer, which the runtime fills itself). With `fuse`, a binary
 * conv whose output transform is a threshold runs as one kernel (conv2dThreshold, the same
 * bits) and keeps no int32 pre-activation; without it (Engine.trace) every intermediate is
 * kept.
 */
export function makeStep(
  backend: Backend,
  layer: Layer,
  weights: LayerWeights,
  n: number,
  input: Buffer | undefined,
  fuse = false,
): Step {
  const bufs = new Buffers(backend);
  const F = backend.float;
  const B = backend.binary;
  const outLength = n * activationLength(layer.out);
  const x = input?.ptr ?? 0;
  const step = (out: Buffer, run: () => void, preActivation?: Buffer, calls?: Step["calls"]): Step => ({
    layer,
    out,
    preActivation,
    run,
    calls,
    free: () => bufs.free(),
  });
  // Per-image-chunk calls only where a pool can use them, and not for trace.
  const chunked = fuse && backend.pool !== undefined && backend.module !== undefined;
  const perImage = (calls: (start: number, count: number) => Call[]) => (chunked ? calls : undefined);
  const inImage = activationLength(layer.in) * 4;
  const outImage = activationLength(layer.out) * 4;
  switch (layer.kind) {
    case "input":
      return step(bufs.take(outLength), () => {});
    case "float_conv2d":
    case "bwn_conv2d": {
      const [o, kh, kw] = layer.weights.shape as [number, number, number];
      const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
      const pixels = n * g.outH * g.outW;
      const k = kh * kw * g.c;
      const cols = bufs.take(pixels * k);
      const out = bufs.take(outLength);
      return step(out, () => {
        F.im2col(g, x, layer.padValue, cols.ptr);
        F.sgemm(false, true, pixels, o, k, 1, cols.ptr, k, weights.weights, k, 0, out.ptr, o);
        if (weights.bias) F.binaryRow("add", pixels, o, out.ptr, weights.bias, out.ptr);
      });
    }
    case "float_dense":
    case "bwn_dense": {
      const [o, k] = layer.weights.shape as [number, number];
      const out = bufs.take(outLength);
      return step(out, () => {
        F.sgemm(false, true, n, o, k, 1, x, k, weights.weights, k, 0, out.ptr, o);
        if (weights.bias) F.binaryRow("add", n, o, out.ptr, weights.bias, out.ptr);
      });
    }
    case "bitpack": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.take(outLength);
      const calls = (s0: number, count: number): Call[] => [
        ["bitPack", (count * rows) / n, c, x + s0 * inImage, out.ptr + s0 * outImage],
      ];
      return step(out, () => B.pack(rows, c, x, out.ptr), undefined, perImage(calls));
    }
    case "unpack": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.take(outLength);
      const calls = (s0: number, count: number): Call[] => [
        ["bitUnpack", (count * rows) / n, c, x + s0 * inImage, out.ptr + s0 * outImage],
      ];
      return step(out, () => B.unpack(rows, c, x, out.ptr), undefined, perImage(calls));
    }
    case "binary_conv2d": {
      const [o, kh, kw] = layer.weights.shape as [number, number, number];
      const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
      const rows = n * g.outH * g.outW;
      const t = weights.transform;
      if (fuse && t?.kind === "threshold" && !preferIm2col(g)) {
        const out = bufs.take(outLength);
        const scratchWords = bconv2dThresholdScratchWords(g, o);
        const scratch = scratchWords ? bufs.take(scratchWords).ptr : 0;
        // Per image chunk: the chunk's padded copy (when the geometry has one), then the
        // conv; each thread builds the pad-0 thresholds in its own scratch.
        const padImage = (g.outH + 2) * (g.outW + 2) * ((g.c + 31) >>> 5) * 4;
        const pooled = scratch !== 0 && 25 * o * 4 <= (backend.pool?.scratchBytes ?? 0);
        const calls = (s0: number, count: number): Call[] => {
          const xs = x + s0 * inImage;
          const ps = pooled ? scratch + s0 * padImage : 0;
          const conv: Call = [
            "bitConv2d",
            ...geometryArgs(g, count),
            layer.padValue,
            o,
            xs,
            weights.weights,
            t.thresholds,
            t.flip,
            out.ptr + s0 * outImage,
            0,
            g.outH,
            ps,
            SCRATCH,
          ];
          if (!ps) return [conv];
          const pad: Call = ["bitPadImages", ...bitPadImagesArgs(g, layer.padValue, count, xs, ps)];
          return [pad, conv];
        };
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
            ),
          undefined,
          perImage(calls),
        );
      }
      const cols = bufs.take(bconv2dScratchWords(g));
      const pre = bufs.take(rows * o);
      const out = bufs.take(outLength);
      const transform = outputTransform(backend, weights, rows, o, pre.ptr, out.ptr);
      const pixels = g.outH * g.outW;
      const taps = kh * kw;
      const words = taps * ((g.c + 31) >>> 5);
      // The im2col path of conv2d (wasm/binary.ts), per image chunk; the pointwise and
      // direct paths stay whole-batch.
      const calls = (s0: number, count: number): Call[] => {
        const cs = cols.ptr + s0 * pixels * words * 4;
        const ps = pre.ptr + s0 * pixels * o * 4;
        const list: Call[] = [
          ["bitIm2col", ...geometryArgs(g, count), layer.padValue === 1 ? 1 : 0, x + s0 * inImage, cs],
          ["bgemm", count * pixels, o, words, taps * g.c, cs, weights.weights, ps],
        ];
        if (layer.padValue === 0 && readsPadding(g))
          list.push(["bitZeroPadCorrection", ...geometryArgs(g, count), o, weights.weights, ps]);
        list.push(transformCall(weights, count * pixels, o, ps, out.ptr + s0 * outImage));
        return list;
      };
      return step(
        out,
        () => {
          B.conv2d(g, layer.padValue, o, x, weights.weights, cols.ptr, pre.ptr);
          transform();
        },
        pre,
        preferIm2col(g) ? perImage(calls) : undefined,
      );
    }
    case "binary_dense": {
      const [o, k] = layer.weights.shape as [number, number];
      const pre = bufs.take(n * o);
      const out = bufs.take(outLength);
      const transform = outputTransform(backend, weights, n, o, pre.ptr, out.ptr);
      const words = (k + 31) >>> 5;
      const calls = (s0: number, count: number): Call[] => [
        ["bgemm", count, o, words, k, x + s0 * words * 4, weights.weights, pre.ptr + s0 * o * 4],
        transformCall(weights, count, o, pre.ptr + s0 * o * 4, out.ptr + s0 * outImage),
      ];
      return step(
        out,
        () => {
          B.bgemm(n, o, words, k, x, weights.weights, pre.ptr);
          transform();
        },
        pre,
        perImage(calls),
      );
    }
    case "maxpool":
      return maxPoolStep(backend, bufs, layer, weights, n, x, outLength, step, perImage);
    case "avgpool": {
      const g = windowOf(n, layer.in, layer.poolSize, layer.strides, layer.padding);
      const out = bufs.take(outLength);
      return step(out, () => F.avgPool(g, x, out.ptr));
    }
    case "batchnorm": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const rows = (n * shapeSize(layer.in.shape)) / c;
      const out = bufs.take(outLength);
      const p = weights.batchNorm!;
      // One pass with the training graph's float32 steps: ((x - mean) * invStd) * gamma + beta.
      const perRow = rows / n;
      const calls = (s0: number, count: number): Call[] => [
        [
          "float_batchNormForward",
          count * perRow,
          c,
          x + s0 * inImage,
          p.mean,
          p.invStd,
          p.gamma,
          p.beta,
          out.ptr + s0 * outImage,
          0,
        ],
      ];
      return step(
        out,
        () => F.batchNormForward(rows, c, x, p.mean, p.invStd, p.gamma, p.beta, out.ptr, 0),
        undefined,
        perImage(calls),
      );
    }
    case "flatten": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      // Floats, and bits whose pixels fill whole words, are already laid out flat.
      if (layer.in.layout === "float" || c % 32 === 0 || layer.in.shape.length === 1) {
        return step(
          { ptr: x, length: outLength },
          () => {},
          undefined,
          perImage(() => []),
        );
      }
      const out = bufs.take(outLength);
      const pixels = n * (shapeSize(layer.in.shape) / c);
      const perSample = shapeSize(layer.in.shape) / c;
      return step(out, () => repackBits(backend, pixels, perSample, c, x, out.ptr));
    }
    case "relu": {
      const out = bufs.take(outLength);
      return step(out, () => F.unary("relu", outLength, x, out.ptr));
    }
    case "softmax": {
      const c = layer.in.shape[layer.in.shape.length - 1]!;
      const out = bufs.take(outLength);
      return step(out, () => softmaxRows(backend, outLength / c, c, x, out.ptr));
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

/** The output transform of `rows` rows as one kernel call. */
function transformCall(w: LayerWeights, rows: number, c: number, pre: number, out: number): Call {
  const t = w.transform!;
  return t.kind === "threshold"
    ? ["bitThreshold", rows, c, pre, t.thresholds, t.flip, out]
    : ["bitAffine", rows, c, pre, t.scale, t.bias, out];
}

function maxPoolStep(
  backend: Backend,
  bufs: Buffers,
  layer: MaxPoolLayer,
  weights: LayerWeights,
  n: number,
  x: number,
  outLength: number,
  step: (out: Buffer, run: () => void, pre?: Buffer, calls?: Step["calls"]) => Step,
  perImage: (calls: (start: number, count: number) => Call[]) => Step["calls"],
): Step {
  const g = windowOf(n, layer.in, layer.poolSize, layer.strides, layer.padding);
  const out = bufs.take(outLength);
  if (layer.in.layout === "float") {
    const argmax = bufs.take(outLength);
    return step(out, () => backend.float.maxPool(g, x, out.ptr, argmax.ptr));
  }
  if (!weights.flip) {
    const [inImage, outImage] = [activationLength(layer.in) * 4, activationLength(layer.out) * 4];
    const calls = (s0: number, count: number): Call[] => [
      ["bitMaxPool", ...geometryArgs(g, count), x + s0 * inImage, out.ptr + s0 * outImage],
    ];
    return step(out, () => backend.binary.maxPool(g, x, out.ptr), undefined, perImage(calls));
  }
  // Flipped channels hold NOT(x >= T): the max of x is the AND of their bits, i.e.
  // y = OR(bits XOR flip) XOR flip.
  const words = (g.c + 31) >>> 5;
  const inWords = n * g.h * g.w * words;
  const flipped = bufs.take(inWords);
  const flip = weights.flip;
  const [inImage, outImage] = [activationLength(layer.in) * 4, activationLength(layer.out) * 4];
  const [inRows, outRows] = [inImage / 4 / words, outImage / 4 / words];
  const calls = (s0: number, count: number): Call[] => [
    ["bitXorRows", count * inRows, words, x + s0 * inImage, flip, flipped.ptr + s0 * inImage],
    ["bitMaxPool", ...geometryArgs(g, count), flipped.ptr + s0 * inImage, out.ptr + s0 * outImage],
    ["bitXorRows", count * outRows, words, out.ptr + s0 * outImage, flip, out.ptr + s0 * outImage],
  ];
  return step(
    out,
    () => {
      xorRows(backend, inWords / words, words, x, flip, flipped.ptr);
      backend.binary.maxPool(g, flipped.ptr, out.ptr);
      xorRows(backend, outLength / words, words, out.ptr, flip, out.ptr);
    },
    undefined,
    perImage(calls),
  );
}

/** out[r, i] = x[r, i] XOR mask[i] over uint32 words (the kernel module's bitXorRows where there is one). */
function xorRows(backend: Backend, rows: number, words: number, x: number, mask: number, out: number): void {
  const kernel = backend.module?.exports.bitXorRows;
  if (kernel) {
    kernel(rows, words, x, mask, out);
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
