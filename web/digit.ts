/**
 * A drawing -> an MNIST-style 28x28 image, the way MNIST itself was made (LeCun et al.):
 * the ink's bounding box is scaled to fit a 20x20 box (aspect ratio kept), anti-aliased
 * by area averaging, and placed in a 28x28 field so that its center of mass sits at the
 * field's center (14, 14).
 *
 *     const pixels = toMnistDigit(ink, 280, 280); // Uint8Array(784), 0 = background, or null if blank
 */

export const SIZE = 28;
const BOX = 20;

/**
 * Area-average resampling of the source rectangle [x0, x0 + w) x [y0, y0 + h) to dw x dh:
 * out(i, j) = sum over source pixels of ink * overlap area / (cell area), a cell being
 * (w / dw) x (h / dh) source pixels.
 */
function resampleBox(
  ink: ArrayLike<number>,
  width: number,
  rect: { x0: number; y0: number; w: number; h: number },
  dw: number,
  dh: number,
): Float32Array {
  const out = new Float32Array(dw * dh);
  const sx = rect.w / dw;
  const sy = rect.h / dh;
  for (let j = 0; j < dh; j++) {
    const top = rect.y0 + j * sy;
    const bottom = top + sy;
    for (let i = 0; i < dw; i++) {
      const left = rect.x0 + i * sx;
      const right = left + sx;
      let sum = 0;
      for (let y = Math.floor(top); y < Math.ceil(bottom); y++) {
        const oy = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < Math.ceil(right); x++) {
          const ox = Math.min(right, x + 1) - Math.max(left, x);
          sum += ink[y * width + x]! * ox * oy;
        }
      }
      out[j * dw + i] = sum / (sx * sy);
    }
  }
  return out;
}

/** The bounding box of pixels with ink > 0, or null when there is none. */
export function inkBox(
  ink: ArrayLike<number>,
  width: number,
  height: number,
): { x0: number; y0: number; w: number; h: number } | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * Ink intensities (0..255, row-major width x height) -> 28x28 uint8 MNIST-style digit, or
 * null when nothing is drawn. The longer side of the ink box becomes 20 pixels.
 */
export function toMnistDigit(ink: ArrayLike<number>, width: number, height: number): Uint8Array | null {
  if (ink.length !== width * height) {
    throw new RangeError(`toMnistDigit: ${ink.length} values is not ${width}x${height}`);
  }
  const box = inkBox(ink, width, height);
  if (!box) return null;
  const scale = BOX / Math.max(box.w, box.h);
  const dw = Math.max(1, Math.round(box.w * scale));
  const dh = Math.max(1, Math.round(box.h * scale));
  const patch = resampleBox(ink, width, box, dw, dh);

  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let j = 0; j < dh; j++) {
    for (let i = 0; i < dw; i++) {
      const v = patch[j * dw + i]!;
      mass += v;
      mx += v * (i + 0.5);
      my += v * (j + 0.5);
    }
  }
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const ox = clamp(Math.round(SIZE / 2 - mx / mass), SIZE - dw);
  const oy = clamp(Math.round(SIZE / 2 - my / mass), SIZE - dh);
  const out = new Uint8Array(SIZE * SIZE);
  for (let j = 0; j < dh; j++) {
    for (let i = 0; i < dw; i++) {
      out[(oy + j) * SIZE + ox + i] = Math.min(255, Math.round(patch[j * dw + i]!));
    }
  }
  return out;
}
