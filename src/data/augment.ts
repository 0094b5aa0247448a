/**
 * Seeded image augmentation, applied while a batch is copied out of a data set (NHWC).
 *
 * A random shift by (dy, dx), each uniform in [-n, n], is the same as CIFAR's "pad by n,
 * then take a random crop of the original size": `out[y][x] = in[y - dy][x - dx]`, with
 * pixels from outside the image set to `fill`. A horizontal flip then mirrors x:
 * `out[y][x] = shifted[y][w - 1 - x]`.
 */
import type { Random } from "../util/random.js";
import type { Preprocessing } from "./dataset.js";

export interface Augmentation {
  /**
   * Maximum shift in pixels on each axis (MNIST: 2; CIFAR: 4, i.e. pad-4-and-crop).
   * 0 or undefined: no shift.
   */
  shift?: number;
  /** Mirror left-right with probability 1/2 (natural images, not digits). */
  flip?: boolean;
  /**
   * Value (in normalized space) of the pixels shifted in. Default: the background, i.e.
   * a raw 0 after preprocessing (`offset`; -1 for MNIST's `x / 127.5 - 1`).
   */
  fill?: number;
}

/** The random draw for one image: shift and flip. */
export interface AugmentDraw {
  dy: number;
  dx: number;
  flip: boolean;
}

/** Draws one image's shift and flip; consumes rng in a fixed order (dy, dx, flip). */
export function drawAugment(aug: Augmentation, rng: Random): AugmentDraw {
  const n = aug.shift ?? 0;
  const dy = n > 0 ? rng.int(2 * n + 1) - n : 0;
  const dx = n > 0 ? rng.int(2 * n + 1) - n : 0;
  const flip = aug.flip ? rng.next() < 0.5 : false;
  return { dy, dx, flip };
}

/** Checks an augmentation's settings; throws naming the bad field. */
export function checkAugmentation(aug: Augmentation, height: number, width: number): void {
  const n = aug.shift ?? 0;
  if (!Number.isInteger(n) || n < 0 || n >= Math.max(height, width)) {
    throw new Error(`augmentation shift must be an integer in [0, ${Math.max(height, width)}), got ${n}`);
  }
  if (aug.fill !== undefined && !Number.isFinite(aug.fill))
    throw new Error(`augmentation fill must be finite, got ${aug.fill}`);
}

/**
 * Copies one HWC image from `src` at `srcAt` to `dst` at `dstAt`, normalizing
 * (`x * scale + offset`) and applying the draw (shift, then flip).
 */
export function copyAugmented(
  src: ArrayLike<number>,
  srcAt: number,
  dst: Float32Array,
  dstAt: number,
  shape: { height: number; width: number; channels: number },
  { scale, offset }: Preprocessing,
  { dy, dx, flip }: AugmentDraw,
  fill: number,
): void {
  const { height: h, width: w, channels: c } = shape;
  if (dy === 0 && dx === 0 && !flip) {
    for (let i = 0, n = h * w * c; i < n; i++) dst[dstAt + i] = src[srcAt + i]! * scale + offset;
    return;
  }
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    for (let x = 0; x < w; x++) {
      const sx = (flip ? w - 1 - x : x) - dx;
      const o = dstAt + (y * w + x) * c;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) dst[o + k] = fill;
      } else {
        const s = srcAt + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) dst[o + k] = src[s + k]! * scale + offset;
      }
    }
  }
}
