/**
 * Calls of the float kernels (assembly/float) that more than the float wrappers run: the
 * engine records them per layer (calls.ts says how). Rows and elements are independent, so
 * they are the split axes; pointers advance by the bytes of the units skipped.
 */
import { geometryArgs } from "../geometry.js";
import { SCRATCH } from "../threads/protocol.js";
import { COST } from "../threads/split.js";
import type { Window2D } from "../types.js";
import { type Call, type Job, job } from "./calls.js";

/** float_depthwise over images: y [n, outH, outW, c] of x [n, h, w, c] and w [kh, kw, c]. */
export function depthwiseJob(g: Window2D, x: number, w: number, y: number): Job {
  const inImage = g.h * g.w * g.c * 4;
  const outImage = g.outH * g.outW * g.c * 4;
  const bytes = g.n * (outImage * g.kh * g.kw + inImage);
  return job(g.n, 1, bytes / COST.bytes, (s, e) => [
    "float_depthwise",
    ...geometryArgs(g, e - s),
    x + s * inImage,
    w,
    y + s * outImage,
  ]);
}

/**
 * float_batchNormForward over rows: y [rows, cols] = ((x - mean) * invStd) * gamma + beta,
 * and xhat (optional, 0: none) = (x - mean) * invStd.
 */
export function batchNormForwardJob(
  rows: number,
  cols: number,
  x: number,
  mean: number,
  invStd: number,
  gamma: number,
  beta: number,
  y: number,
  xhat: number,
): Job {
  const bytes = rows * cols * (xhat ? 12 : 8);
  return job(rows, 1, bytes / COST.bytes, (s, e) => [
    "float_batchNormForward",
    e - s,
    cols,
    x + s * cols * 4,
    mean,
    invStd,
    gamma,
    beta,
    y + s * cols * 4,
    xhat ? xhat + s * cols * 4 : 0,
  ]);
}

/**
 * float_normalize over elements: out[i] = f32(raw[i] * scale + offset) in float64, raw
 * uint8 (bytes 1) or float32 (bytes 4).
 */
export function normalizeJob(
  n: number,
  raw: number,
  bytes: number,
  scale: number,
  offset: number,
  out: number,
): Job {
  return job(n, 16, (n * (bytes + 4)) / COST.bytes, (s, e) => [
    "float_normalize",
    e - s,
    raw + s * bytes,
    bytes,
    scale,
    offset,
    out + s * 4,
  ]);
}

/**
 * g restricted to output rows [r0, r1) of one image: the same windows over the input rows
 * from r0 * strideH - padTop on (padding above them where that is negative), and the byte
 * offset of the first of those rows in the image.
 */
export function rowBand(g: Window2D, r0: number, r1: number): { g: Window2D; inOffset: number } {
  const first = r0 * g.strideH - g.padTop;
  const skip = Math.max(first, 0);
  return {
    g: { ...g, n: 1, h: g.h - skip, padTop: Math.max(-first, 0), outH: r1 - r0 },
    inOffset: skip * g.w * g.c * 4,
  };
}

/** Rows [s, e) of the n * outH output rows as (image, first row, end row) triples. */
export function imageRows(g: Window2D, s: number, e: number): [number, number, number][] {
  const parts: [number, number, number][] = [];
  for (let b = Math.floor(s / g.outH); b * g.outH < e; b++) {
    parts.push([b, Math.max(s - b * g.outH, 0), Math.min(e - b * g.outH, g.outH)]);
  }
  return parts;
}

const ADD = 0; // BINARY_OP_CODES.add (assembly/float/elementwise.ts)

/**
 * A float conv as the engine runs it (im2col with padValue into cols, sgemm against w
 * [outC, k] with alpha 1 and beta 0, then + bias where bias != 0) over the n * outH output
 * rows: each part unfolds only its rows and multiplies them, so its columns stay in cache
 * and the parts split across threads (sgemm's SCRATCH: the pool's scratch holds it).
 * Parts run in bands of at most ~256 KB of columns. Every output is sgemm's sum over k
 * in order, as over the whole matrix, for bands of at least 2 pixels (a single row would
 * take the matrix-vector path): convRowsFit.
 */
export function floatConvRowsJob(
  g: Window2D,
  padValue: number,
  x: number,
  w: number,
  outC: number,
  bias: number,
  cols: number,
  out: number,
): Job {
  const k = g.kh * g.kw * g.c;
  const rows = g.n * g.outH;
  const macs = rows * g.outW * outC * k;
  const bandRows = Math.max(1, Math.floor(65536 / (g.outW * k)));
  const image = g.h * g.w * g.c * 4;
  return {
    units: rows,
    unit: 1,
    micros: macs / COST.sgemmMacs,
    threadScratch: 0,
    part: (s, e) =>
      imageRows(g, s, e).flatMap(([b, r0, r1]) => {
        const calls: Call[] = [];
        for (let q0 = r0; q0 < r1; q0 += bandRows) {
          const q1 = Math.min(q0 + bandRows, r1);
          const band = rowBand(g, q0, q1);
          const first = b * g.outH * g.outW + q0 * g.outW;
          const m = (q1 - q0) * g.outW;
          const colsAt = cols + first * k * 4;
          const outAt = out + first * outC * 4;
          calls.push(
            ["float_im2col", ...geometryArgs(band.g), x + b * image + band.inOffset, padValue, colsAt],
            ["float_sgemm", 0, 1, m, outC, k, 1, colsAt, k, w, k, 0, outAt, outC, SCRATCH],
          );
          if (bias) calls.push(["float_binaryRow", ADD, m, outC, outAt, bias, outAt]);
        }
        return calls;
      }),
  };
}

/** True when floatConvRowsJob's parts of one output row or more never make a 1-pixel GEMM. */
export const convRowsFit = (g: Window2D) => g.outW >= 2;
