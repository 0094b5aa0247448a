/**
 * The bit contract, written once (docs/architecture.md). Every binary kernel, the exporter
 * and the engine agree on it.
 *
 * Encoding: a binary value in {-1, +1} is one bit, **bit 1 = +1, bit 0 = -1**.
 * sign(x) = +1 for x >= 0 (so sign(0) = sign(-0) = +1), -1 for x < 0. NaN compares false
 * with `x >= 0`, so NaN packs as bit 0 (-1); every implementation (reference, scalar
 * WebAssembly, SIMD `f32x4.ge`) uses that same comparison, so they agree on NaN too.
 *
 * Packing: a row of C channels (an NHWC pixel, or an OHWI filter tap) is packed into
 * wordsPerPixel(C) = ceil(C / 32) 32-bit words, channel c at word c >> 5, bit c & 31.
 * The tail bits of the last word (channels C..32*words-1) are 0.
 *
 * Dot product: for a, b in {-1, +1}^K, a_i * b_i = +1 where the bits agree and -1 where
 * they differ. With d = popcount(a XOR b) differing positions,
 *   dot(a, b) = (K - d) - d = K - 2 * popcount(a XOR b).
 * Tail bits are 0 in both operands, so their XOR is 0 and they never count; K is the true
 * number of bits, not 32 * words.
 */

/** Bits per packed word. */
export const WORD_BITS = 32;

/** 32-bit words holding `channels` bits: ceil(channels / 32). */
export function wordsPerPixel(channels: number): number {
  if (!Number.isInteger(channels) || channels < 0) {
    throw new RangeError(`wordsPerPixel: channels must be a non-negative integer, got ${channels}`);
  }
  return (channels + 31) >>> 5;
}

/** The bit of a real value: 1 (+1) for x >= 0, else 0 (-1); NaN gives 0. */
export function signBit(x: number): 0 | 1 {
  return x >= 0 ? 1 : 0;
}

/** Mask of the valid bits of word `word` of a row of `channels` bits (all ones but for the last word). */
export function wordMask(channels: number, word: number): number {
  const valid = channels - word * 32;
  if (valid >= 32) return 0xffffffff;
  if (valid <= 0) return 0;
  return ((1 << valid) - 1) >>> 0;
}

/** Number of 1 bits in a 32-bit word. */
export function popcount32(v: number): number {
  v >>>= 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/**
 * Packs the signs of x [rows, channels] into words [rows, ceil(channels / 32)]:
 * bit (r, c) = 1 iff x[r, c] >= 0.
 *
 *     packSigns(Float32Array.of(0.5, -1, 0), 1, 3); // Uint32Array [0b101]
 */
export function packSigns(x: ArrayLike<number>, rows: number, channels: number): Uint32Array {
  if (x.length < rows * channels) {
    throw new RangeError(`packSigns: need ${rows}x${channels} = ${rows * channels} values, got ${x.length}`);
  }
  const words = wordsPerPixel(channels);
  const out = new Uint32Array(rows * words);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      if (signBit(x[r * channels + c]!)) out[r * words + (c >>> 5)]! |= 1 << (c & 31);
    }
  }
  return out;
}

/** Packs booleans [rows, channels] (true = bit 1) the same way as packSigns. */
export function packFlags(flags: ArrayLike<boolean | number>, rows: number, channels: number): Uint32Array {
  const words = wordsPerPixel(channels);
  const out = new Uint32Array(rows * words);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      if (flags[r * channels + c]) out[r * words + (c >>> 5)]! |= 1 << (c & 31);
    }
  }
  return out;
}

/** Unpacks words [rows, ceil(channels / 32)] into +/-1 values [rows, channels]. */
export function unpackSigns(bits: ArrayLike<number>, rows: number, channels: number): Float32Array {
  const words = wordsPerPixel(channels);
  if (bits.length < rows * words) {
    throw new RangeError(`unpackSigns: need ${rows}x${words} words, got ${bits.length}`);
  }
  const out = new Float32Array(rows * channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      out[r * channels + c] = (bits[r * words + (c >>> 5)]! >>> (c & 31)) & 1 ? 1 : -1;
    }
  }
  return out;
}

/** True when every tail bit (beyond `channels` in each row's last word) is 0. */
export function tailBitsClear(bits: ArrayLike<number>, rows: number, channels: number): boolean {
  const words = wordsPerPixel(channels);
  if (words === 0 || channels % 32 === 0) return true;
  const mask = wordMask(channels, words - 1);
  for (let r = 0; r < rows; r++) {
    if ((bits[r * words + words - 1]! & ~mask) !== 0) return false;
  }
  return true;
}

/** dot(a, b) = k - 2 * popcount(a XOR b) over `words` words (tail bits must be 0 in both). */
export function binaryDot(
  a: ArrayLike<number>,
  aOffset: number,
  b: ArrayLike<number>,
  bOffset: number,
  words: number,
  k: number,
): number {
  let d = 0;
  for (let i = 0; i < words; i++) d += popcount32(a[aOffset + i]! ^ b[bOffset + i]!);
  return k - 2 * d;
}
