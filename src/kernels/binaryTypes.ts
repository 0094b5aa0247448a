/**
 * The binary kernel interface (the bit contract is src/kernels/bits.ts): packing, the
 * XOR-popcount GEMM and convolution, the output transforms and max-pool on packed bits.
 * Same conventions as the float kernels (src/kernels/types.ts): arguments are byte
 * offsets ("ptr") into the Heap's memory and element counts; TypeScript does the shape
 * arithmetic; kernels never allocate (scratch buffers are passed in); outputs are
 * overwritten. Packed rows hold ceil(channels / 32) uint32 words with tail bits 0.
 *
 *     const { binary, heap } = await createBackend();
 *     const g = convGeometry(1, 28, 28, 64, 3, 3, 1, 1, "same");
 *     const x = heap.alloc(28 * 28 * 64 * 4), bits = heap.alloc(28 * 28 * 2 * 4);
 *     binary.pack(28 * 28, 64, x, bits);                  // float NHWC -> packed bits
 *     const cols = heap.alloc(bconv2dScratchWords(g) * 4), out = heap.alloc(28 * 28 * 32 * 4);
 *     binary.conv2d(g, 0, 32, bits, weights, cols, out);  // int32 dot values [1, 28, 28, 32]
 */
import { wordsPerPixel } from "./bits.js";
import type { Heap } from "./heap.js";
import type { BackendName, Window2D } from "./types.js";

/**
 * What a binary convolution reads outside the image. -1 and +1 are free (pad bits 0 or
 * 1); 0 counts only the in-bounds bits (a per-position correction, as in Larq Compute
 * Engine's zero_padding_correction).
 */
export type PadValue = -1 | 0 | 1;

/**
 * Threshold value meaning "always true": x >= ALWAYS_ON for every int32 x. With flip 0
 * the channel is constant 1, with flip 1 constant 0.
 */
export const ALWAYS_ON = -2147483648;

export interface BinaryKernels {
  readonly name: BackendName;
  readonly heap: Heap;

  /** bits [rows, ceil(c/32)] from float32 x [rows, c]: bit = 1 iff x >= 0 (NaN gives 0). */
  pack(rows: number, c: number, x: number, bits: number): void;

  /** float32 out [rows, c] = +1 where the bit is 1, -1 where it is 0. */
  unpack(rows: number, c: number, bits: number, out: number): void;

  /**
   * Binary GEMM: int32 out [m, n], out[i, j] = k - 2 * popcount(a[i] XOR b[j]), with
   * a [m, words] and b [n, words] packed rows. k is the number of real bits per row; the
   * other bits of the words must be equal in a and b (0 in both under the contract).
   */
  bgemm(m: number, n: number, words: number, k: number, a: number, b: number, out: number): void;

  /**
   * Im2col on packed words: cols [n*outH*outW, kh*kw*ceil(c/32)] (tap-major, as weights
   * OHWI), from x [n, h, w, ceil(c/32)]. Taps outside the image read the padding word:
   * pad -1 and 0 write 0 bits, pad +1 writes 1 in the c real bits (tail bits stay 0).
   */
  im2col(g: Window2D, padValue: PadValue, x: number, cols: number): void;

  /**
   * Binary convolution: int32 out [n, outH, outW, outC] of packed x [n, h, w, ceil(c/32)]
   * with packed weights [outC, kh, kw, ceil(c/32)]:
   *   out = sum over in-bounds taps of dot(x tap, w tap) + sum over padding taps of
   *         padValue * sum_c w[o, tap, c].
   * cols is scratch of bconv2dScratchWords(g) uint32 words (unused for a 1x1 stride-1 conv
   * without padding, where x already is the im2col matrix; it may then be 0).
   */
  conv2d(
    g: Window2D,
    padValue: PadValue,
    outC: number,
    x: number,
    weights: number,
    cols: number,
    out: number,
  ): void;

  /**
   * conv2d with thresholdPack fused in: packed out [n, outH, outW, ceil(outC/32)], bit
   * (p, o) = (conv2d value (p, o) >= thr[o]) XOR flip bit o, bit for bit what conv2d then
   * thresholdPack give, without the int32 values in memory. Optional scratch of
   * bconv2dThresholdScratchWords(g, outC) words lets a padded 3x3 conv run its border
   * pixels in the fast kernel too (a padded copy of the input).
   */
  conv2dThreshold(
    g: Window2D,
    padValue: PadValue,
    outC: number,
    x: number,
    weights: number,
    thr: number,
    flip: number,
    out: number,
    scratch?: number,
    tables?: number,
  ): void;

  /**
   * Bytes of the tables convTables makes for a conv of outC filters (0: this backend's
   * convolutions make none, and convTables does nothing).
   */
  convTablesBytes(outC: number): number;

  /**
   * Makes at `tables` (convTablesBytes) what conv2dThreshold (thr != 0) or conv2dAffine
   * (thr = 0) over a padded copy otherwise remakes on every call, and on every thread, from
   * the weights and thresholds alone: pad 0's thresholds per border class and the word
   * tiles' bounds. Pass `tables` to those calls (an engine does, its weights being fixed)
   * for as long as weights and thr stay unchanged; the results are the same either way.
   */
  convTables(
    g: Window2D,
    padValue: PadValue,
    outC: number,
    weights: number,
    thr: number,
    tables: number,
  ): void;

  /**
   * conv2d with affine fused in: float32 out [n, outH, outW, outC] = fround(fround(f32(conv2d
   * value) * scale[o]) + bias[o]), bit for bit what conv2d then affine give. The same
   * optional scratch as conv2dThreshold (bconv2dThresholdScratchWords) lets a padded 3x3
   * conv run over a padded copy. `epilogue` (a heap pointer, kernels/epilogue.ts; 0: none)
   * then runs its program over the output in place, as the separate float layers would.
   */
  conv2dAffine(
    g: Window2D,
    padValue: PadValue,
    outC: number,
    x: number,
    weights: number,
    scale: number,
    bias: number,
    out: number,
    scratch?: number,
    epilogue?: number,
    tables?: number,
  ): void;

  /**
   * Output transform to bits: out [rows, ceil(c/32)], bit (r, j) = (x[r, j] >= thr[j]) XOR
   * flip bit j, with int32 x [rows, c], int32 thr [c] and packed flip [ceil(c/32)] (tail
   * bits 0). Constant channels: thr = ALWAYS_ON gives 1 XOR flip for every x; a threshold
   * above every reachable x (e.g. k + 1 for |x| <= k) gives 0 XOR flip.
   */
  thresholdPack(rows: number, c: number, x: number, thr: number, flip: number, out: number): void;

  /** Output transform to float: float32 out [rows, c] = f32(x[r, j]) * scale[j] + bias[j] (no FMA). */
  affine(rows: number, c: number, x: number, scale: number, bias: number, out: number): void;

  /**
   * Max-pool on packed bits: y [n, outH, outW, ceil(c/32)] = OR of x over the in-bounds
   * taps of each window (max over {-1, +1}). Padding taps are ignored, as in float max-pool.
   */
  maxPool(g: Window2D, x: number, y: number): void;
}

/** Scratch words for BinaryKernels.conv2d's im2col matrix. */
export function bconv2dScratchWords(g: Window2D): number {
  return g.n * g.outH * g.outW * g.kh * g.kw * ((g.c + 31) >>> 5);
}

/**
 * True when im2col + GEMM beats the direct convolution: one word a pixel (c <= 32). Then a
 * 3x3 window's row is 3 words, a 64-bit and a 32-bit popcount in place, while an im2col
 * row of 9 words takes 4 + 1 (measured on the MNIST model's 13x13x32 -> 64 conv: ~9%).
 */
export function preferIm2col(g: Window2D): boolean {
  return g.c <= 32 && !isPointwise(g);
}

/**
 * True when conv2dThreshold can run over a padded copy of the input: 3x3, stride 1, 32 to
 * 512 channels in whole 64-bit words (or one word), at most one padding row or column a
 * side, and some padding.
 */
export function paddedConvFits(g: Window2D): boolean {
  const words = (g.c + 31) >>> 5;
  const bottom = g.outH + 2 - g.padTop - g.h;
  const right = g.outW + 2 - g.padLeft - g.w;
  return (
    g.kh === 3 &&
    g.kw === 3 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    [1, 2, 4, 8, 16].includes(words) &&
    g.padTop <= 1 &&
    g.padLeft <= 1 &&
    bottom <= 1 &&
    right <= 1 &&
    (g.padTop > 0 || g.padLeft > 0 || bottom > 0 || right > 0)
  );
}

/** Words of the padded copy conv2dThreshold uses (0 where paddedConvFits is false). */
export function bconv2dPaddedWords(g: Window2D): number {
  return paddedConvFits(g) ? g.n * (g.outH + 2) * (g.outW + 2) * ((g.c + 31) >>> 5) : 0;
}

/**
 * Bytes of the kernel scratch after the padded copy (bitConvScratchBytes in
 * assembly/binary/conv.ts): the pad-0 thresholds (25 int32 a filter), then the word tiles'
 * bounds (16 x outC int16), counts (2 x outC uint16) and one im2col row of outW + 1 pixels.
 */
export function bconv2dTableBytes(g: Window2D, outC: number): number {
  return 25 * outC * 4 + 16 * outC * 2 + 2 * outC * 2 + (g.outW + 1) * 9 * wordsPerPixel(g.c) * 4;
}

/** Scratch words for conv2dThreshold and conv2dAffine: the padded copy and the table after it (0: none needed). */
export function bconv2dThresholdScratchWords(g: Window2D, outC: number): number {
  const copy = bconv2dPaddedWords(g);
  return copy ? copy + Math.ceil(bconv2dTableBytes(g, outC) / 4) : 0;
}

/** True when the convolution's input already is its im2col matrix (1x1, stride 1, no padding). */
export function isPointwise(g: Window2D): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0;
}
