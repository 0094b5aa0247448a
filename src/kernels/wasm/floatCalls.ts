/**
 * Calls of the float kernels (assembly/float) that more than the float wrappers run: the
 * engine records them per layer (calls.ts says how). Rows and elements are independent, so
 * they are the split axes; pointers advance by the bytes of the units skipped.
 */
import { geometryArgs } from "../geometry.js";
import { COST } from "../threads/split.js";
import type { Window2D } from "../types.js";
import { type Job, job } from "./calls.js";

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
