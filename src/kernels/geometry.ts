/**
 * Window geometry for convolution and pooling (NHWC), with TensorFlow's (and Larq's)
 * padding rules:
 * - 'valid': no padding, outH = floor((h - kh) / strideH) + 1.
 * - 'same': outH = ceil(h / strideH); the total padding max((outH - 1) * strideH + kh - h, 0)
 *   is split with the smaller half on top (padTop = floor(total / 2)), the rest below.
 * Width works the same way.
 * - explicit pads [top, left, bottom, right] (PyTorch's and ONNX's rule): outH =
 *   floor((h + top + bottom - kh) / strideH) + 1, padTop = top. Each pad must be smaller than
 *   the window on its axis, so that every window overlaps the image. PyTorch's padding=1 on
 *   a stride-2 3x3 conv over 28 rows is [1, 1, 1, 1]: 14 rows, padTop 1 (neither 'same',
 *   which pads 0 on top there, nor 'valid').
 *
 *     convGeometry(64, 28, 28, 1, 3, 3, 1, 1, "same"); // outH = outW = 28, padTop = padLeft = 1
 */
import type { Window2D } from "./types.js";

/**
 * TensorFlow's padding: "valid" (no padding) or "same" (output = ceil(input / stride), the
 * smaller half of the padding on top/left).
 */
export type Padding = "valid" | "same";
/** Explicit padding per side: [top, left, bottom, right]. */
export type Pads = [top: number, left: number, bottom: number, right: number];
/** A window's padding: TensorFlow's rule by name, or explicit pads. */
export type WindowPadding = Padding | Pads;

/** A readable form of a padding for messages: 'same', 'valid' or [t,l,b,r]. */
export function formatPadding(padding: WindowPadding): string {
  return typeof padding === "string" ? `'${padding}'` : `pads [${padding.join(",")}]`;
}

function axis(
  size: number,
  k: number,
  stride: number,
  padding: WindowPadding,
  side: 0 | 1,
): { out: number; before: number } {
  if (typeof padding !== "string") {
    const before = padding[side];
    const after = padding[side + 2]!;
    const span = size + before + after;
    return { out: span >= k ? Math.floor((span - k) / stride) + 1 : 0, before };
  }
  if (padding === "valid") {
    return { out: size >= k ? Math.floor((size - k) / stride) + 1 : 0, before: 0 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return { out, before: Math.floor(total / 2) };
}

export function convGeometry(
  n: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padding: WindowPadding,
): Window2D {
  for (const [name, v] of Object.entries({ n, h, w, c, kh, kw, strideH, strideW })) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`convGeometry: ${name} must be a positive integer, got ${v}`);
  }
  if (Array.isArray(padding)) {
    const ok =
      padding.length === 4 &&
      padding.every((p) => Number.isInteger(p) && p >= 0) &&
      padding[0] < kh &&
      padding[2] < kh &&
      padding[1] < kw &&
      padding[3] < kw;
    if (!ok) {
      throw new RangeError(
        `convGeometry: pads must be 4 non-negative integers [top, left, bottom, right], each smaller than the ${kh}x${kw} window on its axis, got ${JSON.stringify(padding)}`,
      );
    }
  } else if (padding !== "valid" && padding !== "same") {
    throw new RangeError(
      `convGeometry: padding must be 'valid', 'same' or pads, got ${JSON.stringify(padding)}`,
    );
  }
  const y = axis(h, kh, strideH, padding, 0);
  const x = axis(w, kw, strideW, padding, 1);
  if (y.out < 1 || x.out < 1) {
    throw new RangeError(
      `convGeometry: a ${kh}x${kw} ${formatPadding(padding)} window does not fit a ${h}x${w} image (output ${y.out}x${x.out})`,
    );
  }
  return {
    n,
    h,
    w,
    c,
    kh,
    kw,
    strideH,
    strideW,
    padTop: y.before,
    padLeft: x.before,
    outH: y.out,
    outW: x.out,
  };
}

/** True when some window of g reads a position outside the image (a padding position). */
export function readsPadding(g: Window2D): boolean {
  return (
    g.padTop > 0 ||
    g.padLeft > 0 ||
    (g.outH - 1) * g.strideH - g.padTop + g.kh > g.h ||
    (g.outW - 1) * g.strideW - g.padLeft + g.kw > g.w
  );
}

/** The window arguments as a fixed tuple, so that calls spreading them type-check their length. */
export type GeometryArgs = [
  n: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  outH: number,
  outW: number,
];

/**
 * The window arguments every kernel takes, in the assembly's order (assembly/binary/window.ts):
 * n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW; `count` images in place
 * of g.n (a thread's share).
 */
export function geometryArgs(g: Window2D, count = g.n): GeometryArgs {
  return [count, g.h, g.w, g.c, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW];
}
