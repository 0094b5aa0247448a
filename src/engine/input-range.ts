/**
 * The input-range check of `Engine.predict`. A model's input layer maps raw values to the
 * network's range, x = raw * scale[c] + offset[c] (docs/format.md, "input"); every model
 * onebit trains or imports maps raw pixels 0..255 (scale 1/127.5 for [-1, 1], 1/255 for
 * [0, 1], ...). Pixels already scaled to 0..1 then move the network's input by at most
 * |scale| <= 1/64 of a unit: the image is effectively blank and the classes are wrong,
 * silently. So for such a model (every |scale[c]| <= 1/64) a float input whose values all
 * lie in [0, 1], some of them strictly between, is refused with an InputRangeError. Byte
 * inputs (Uint8Array, Uint8ClampedArray) are raw pixels by construction and never checked;
 * integer-valued inputs such as a 0/1 mask pass.
 */
import { InputRangeError } from "../errors.js";
import type { InputLayer } from "./model.js";

/** The largest |scale| at which a model is taken to expect raw values 0..255. */
export const PIXEL_SCALE_LIMIT = 1 / 64;

/** True when the input layer maps raw pixels 0..255 (every |scale[c]| <= 1/64). */
export function expectsPixels255(input: InputLayer): boolean {
  return input.scale.length > 0 && input.scale.every((s) => s !== 0 && Math.abs(s) <= PIXEL_SCALE_LIMIT);
}

/**
 * Throws an InputRangeError when `values` look like pixels scaled to 0..1 while `input`
 * expects 0..255 (see above); returns otherwise. Non-finite values are left to the caller.
 */
export function checkInputRange(
  values: ArrayLike<number>,
  input: InputLayer,
  operation = "Engine.predict",
): void {
  if (values instanceof Uint8Array || values instanceof Uint8ClampedArray || !expectsPixels255(input)) return;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let fractional = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v > 0 && v < 1) fractional = true;
  }
  if (fractional && min >= 0 && max <= 1) throw new InputRangeError(operation, min, max, [0, 255]);
}
