// The epilogue of the affine binary convolution (conv.ts with scale != 0 and epi != 0):
// once an output row's float values z are complete (and still in cache), a short program
// of per-channel elementwise ops runs over the row in place, then may pack its signs. It
// replaces the separate passes (and buffers) of the layers that follow a residual block's
// conv: QuickNet's relu -> batch norm -> add, Bi-Real's batch norm -> add, ReActNet's
// batch norm -> add -> shift -> prelu -> shift, and the next block's bitpack (with RSign's
// thresholds). Each op is the engine's own float32 step, in the same order, so every value
// is bit for bit what the separate layers give (src/kernels/epilogue.ts has the codes and
// the TypeScript side; src/kernels/ref/epilogue.ts the reference).
//
// The program: int32 words [count, then per op: code, a, b, c, d]. Pointers address image
// 0's pixel 0 of a tensor laid out as the conv's output [n, outH, outW, outC] (bits:
// [.., ceil(outC / 32)] words); `base` is the index of the call's first pixel in them.
//   RELU                      v = max(v, 0)
//   BATCHNORM mean invStd gamma beta   v = gamma * ((v - mean) * invStd) + beta
//   ADD other                 v = v + other[p, o]
//   SHIFT bias                v = v + bias[o]
//   PRELU alpha               v = v >= 0 ? v : alpha[o] * v
//   PACK bits thr             bit (p, o) = fround(v - thr[o]) >= 0 (thr 0: v >= 0); last
//                             op, the float values stay in place too.

export const EPI_RELU: i32 = 1;
export const EPI_BATCHNORM: i32 = 2;
export const EPI_ADD: i32 = 3;
export const EPI_SHIFT: i32 = 4;
export const EPI_PRELU: i32 = 5;
export const EPI_PACK: i32 = 6;
const OP_BYTES: usize = 20;

/**
 * Runs program `prog` over pixels [p0, p1) of out [., outC] (call-relative), pixel `base`
 * of the tensors, channels [c0, c1) (c0 a multiple of 32; c1 too, or outC).
 */
export function epilogueRows(
  prog: usize, out: usize, outC: i32, p0: usize, p1: usize, base: usize, c0: i32, c1: i32,
): void {
  if (ASC_FEATURE_SIMD && (outC & 3) == 0 && fusedRows(prog, out, outC, p0, p1, base, c0, c1)) return;
  const count = load<i32>(prog);
  const rowBytes = <usize>outC << 2;
  const wordBytes = <usize>((outC + 31) >> 5) << 2;
  const lo = <usize>c0 << 2;
  const bytes = <usize>(c1 - c0) << 2;
  const lanes = ASC_FEATURE_SIMD ? <usize>((c1 - c0) & ~3) << 2 : 0;
  for (let i = 0; i < count; i++) {
    const op = prog + 4 + <usize>i * OP_BYTES;
    const code = load<i32>(op);
    const a = <usize>load<i32>(op, 4);
    const b = <usize>load<i32>(op, 8);
    const c = <usize>load<i32>(op, 12);
    const d = <usize>load<i32>(op, 16);
    for (let p = p0; p < p1; p++) {
      const row = out + p * rowBytes + lo;
      if (code == EPI_RELU) {
        reluRun(row, bytes);
      } else if (code == EPI_ADD) {
        addRun(row, a + (base + p) * rowBytes + lo, bytes);
      } else if (code == EPI_PACK) {
        packRow(row, c1 - c0, a + (base + p) * wordBytes + (<usize>(c0 >> 5) << 2), b ? b + lo : 0);
      } else {
        channelOp(code, row, bytes, lanes, a + lo, b + lo, c + lo, d + lo);
      }
    }
  }
}

// The programs the engine writes (QuickNet's, Bi-Real's, ReActNet's) take their ops in one
// order: relu, batch norm, add, shift, prelu, shift, pack, each optional. Such a program
// runs in one pass, four channels at a time in registers, where the general form above
// makes a pass over the rows per op. At 56x56x64 that general form cost 0.15 ms of a
// 0.85 ms QuickNet layer (measured). Same float32 steps in the same order, so the same bits.
const SLOT_RELU = 0;
const SLOT_BATCHNORM = 1;
const SLOT_ADD = 2;
const SLOT_SHIFT = 3;
const SLOT_PRELU = 4;
const SLOT_SHIFT_AFTER = 5;
const SLOT_PACK = 6;

/** The program's slot for op `code` after slot `last` (-1: no such place: the general form runs it). */
@inline function slotOf(code: i32, last: i32): i32 {
  if (code == EPI_RELU) return SLOT_RELU;
  if (code == EPI_BATCHNORM) return SLOT_BATCHNORM;
  if (code == EPI_ADD) return SLOT_ADD;
  if (code == EPI_SHIFT) return last < SLOT_SHIFT ? SLOT_SHIFT : SLOT_SHIFT_AFTER;
  if (code == EPI_PRELU) return SLOT_PRELU;
  if (code == EPI_PACK) return SLOT_PACK;
  return -1;
}

/** Four channels (byte offset o in the row) through the program's float ops, in order. */
@inline function channels(
  v: v128, o: usize, relu: bool, bn: bool, add: bool, shift: bool, prelu: bool, shiftAfter: bool,
  mean: usize, invStd: usize, gamma: usize, beta: usize, other: usize, bias: usize, alpha: usize, biasAfter: usize,
): v128 {
  if (relu) v = f32x4.max(v, f32x4.splat(0));
  if (bn) {
    const h = f32x4.mul(f32x4.sub(v, v128.load(mean + o)), v128.load(invStd + o));
    v = f32x4.add(f32x4.mul(v128.load(gamma + o), h), v128.load(beta + o));
  }
  if (add) v = f32x4.add(v, v128.load(other + o));
  if (shift) v = f32x4.add(v, v128.load(bias + o));
  if (prelu) v = v128.bitselect(v, f32x4.mul(v128.load(alpha + o), v), f32x4.ge(v, f32x4.splat(0)));
  if (shiftAfter) v = f32x4.add(v, v128.load(biasAfter + o));
  return v;
}

/** The one-pass form of epilogueRows (SIMD, outC a multiple of 4); false where the program's order does not fit. */
function fusedRows(prog: usize, out: usize, outC: i32, p0: usize, p1: usize, base: usize, c0: i32, c1: i32): bool {
  const count = load<i32>(prog);
  let last = -1;
  let relu = false, bn = false, add = false, shift = false, prelu = false, shiftAfter = false, pack = false;
  let mean: usize = 0, invStd: usize = 0, gamma: usize = 0, beta: usize = 0, other: usize = 0;
  let bias: usize = 0, alpha: usize = 0, biasAfter: usize = 0, bits: usize = 0, thr: usize = 0;
  for (let i = 0; i < count; i++) {
    const op = prog + 4 + <usize>i * OP_BYTES;
    const code = load<i32>(op);
    const slot = slotOf(code, last);
    if (slot <= last) return false;
    last = slot;
    const a = <usize>load<i32>(op, 4);
    if (slot == SLOT_RELU) relu = true;
    else if (slot == SLOT_BATCHNORM) {
      bn = true;
      mean = a;
      invStd = <usize>load<i32>(op, 8);
      gamma = <usize>load<i32>(op, 12);
      beta = <usize>load<i32>(op, 16);
    } else if (slot == SLOT_ADD) {
      add = true;
      other = a;
    } else if (slot == SLOT_SHIFT) {
      shift = true;
      bias = a;
    } else if (slot == SLOT_PRELU) {
      prelu = true;
      alpha = a;
    } else if (slot == SLOT_SHIFT_AFTER) {
      shiftAfter = true;
      biasAfter = a;
    } else {
      pack = true;
      bits = a;
      thr = <usize>load<i32>(op, 8);
    }
  }
  const rowBytes = <usize>outC << 2;
  const wordBytes = <usize>((outC + 31) >> 5) << 2;
  const zero = f32x4.splat(0);
  // Channel byte offsets [lo, hi); lo is a multiple of 128 (32 channels), so o & 64 and
  // o >> 2 & 31 place a channel in its packed word as they would from channel 0.
  const lo = <usize>c0 << 2;
  const hi = <usize>c1 << 2;
  // Sixteen channels a step where the range allows: their four sign masks narrowed to one
  // 16-bit bitmask (one movemask, not four shifts and ors into a word).
  const wide = ((c1 - c0) & 15) == 0 ? hi : lo;
  for (let p = p0; p < p1; p++) {
    const row = out + p * rowBytes;
    const oth = other + (base + p) * rowBytes;
    let pw = bits + (base + p) * wordBytes + (<usize>(c0 >> 5) << 2);
    let word: u32 = 0;
    let o = lo;
    for (; o < wide; o += 64) {
      const v0 = channels(v128.load(row + o), o, relu, bn, add, shift, prelu, shiftAfter, mean, invStd, gamma, beta, oth, bias, alpha, biasAfter);
      const v1 = channels(v128.load(row + o, 16), o + 16, relu, bn, add, shift, prelu, shiftAfter, mean, invStd, gamma, beta, oth, bias, alpha, biasAfter);
      const v2 = channels(v128.load(row + o, 32), o + 32, relu, bn, add, shift, prelu, shiftAfter, mean, invStd, gamma, beta, oth, bias, alpha, biasAfter);
      const v3 = channels(v128.load(row + o, 48), o + 48, relu, bn, add, shift, prelu, shiftAfter, mean, invStd, gamma, beta, oth, bias, alpha, biasAfter);
      v128.store(row + o, v0);
      v128.store(row + o, v1, 16);
      v128.store(row + o, v2, 32);
      v128.store(row + o, v3, 48);
      if (pack) {
        const m0 = f32x4.ge(thr ? f32x4.sub(v0, v128.load(thr + o)) : v0, zero);
        const m1 = f32x4.ge(thr ? f32x4.sub(v1, v128.load(thr + o, 16)) : v1, zero);
        const m2 = f32x4.ge(thr ? f32x4.sub(v2, v128.load(thr + o, 32)) : v2, zero);
        const m3 = f32x4.ge(thr ? f32x4.sub(v3, v128.load(thr + o, 48)) : v3, zero);
        const m = <u32>i8x16.bitmask(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3)));
        if ((o & 64) == 0) {
          word = m;
        } else {
          store<u32>(pw, word | (m << 16));
          pw += 4;
        }
      }
    }
    for (; o < hi; o += 16) {
      const v = channels(v128.load(row + o), o, relu, bn, add, shift, prelu, shiftAfter, mean, invStd, gamma, beta, oth, bias, alpha, biasAfter);
      v128.store(row + o, v);
      if (pack) {
        const s = thr ? f32x4.sub(v, v128.load(thr + o)) : v;
        const j = <u32>(o >> 2) & 31;
        word |= (<u32>i32x4.bitmask(f32x4.ge(s, zero))) << j;
        if (j == 28) {
          store<u32>(pw, word);
          pw += 4;
          word = 0;
        }
      }
    }
    if (pack && (c1 & 31) != 0) store<u32>(pw, word);
  }
  return true;
}

function reluRun(x: usize, bytes: usize): void {
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; o + 16 <= bytes; o += 16) v128.store(x + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; o < bytes; o += 4) store<f32>(x + o, max(load<f32>(x + o), 0));
}

function addRun(x: usize, other: usize, bytes: usize): void {
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; o + 16 <= bytes; o += 16) v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(other + o)));
  }
  for (; o < bytes; o += 4) store<f32>(x + o, load<f32>(x + o) + load<f32>(other + o));
}

/** One row of a per-channel op (batch norm, shift, prelu). */
@inline function channelOp(
  code: i32, row: usize, rowBytes: usize, lanes: usize, a: usize, b: usize, c: usize, d: usize,
): void {
  let o: usize = 0;
  if (code == EPI_BATCHNORM) {
    if (ASC_FEATURE_SIMD) {
      for (; o < lanes; o += 16) {
        const h = f32x4.mul(f32x4.sub(v128.load(row + o), v128.load(a + o)), v128.load(b + o));
        v128.store(row + o, f32x4.add(f32x4.mul(v128.load(c + o), h), v128.load(d + o)));
      }
    }
    for (; o < rowBytes; o += 4) {
      const h = (load<f32>(row + o) - load<f32>(a + o)) * load<f32>(b + o);
      store<f32>(row + o, load<f32>(c + o) * h + load<f32>(d + o));
    }
  } else if (code == EPI_SHIFT) {
    if (ASC_FEATURE_SIMD) {
      for (; o < lanes; o += 16) v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(a + o)));
    }
    for (; o < rowBytes; o += 4) store<f32>(row + o, load<f32>(row + o) + load<f32>(a + o));
  } else {
    // PRELU
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; o < lanes; o += 16) {
        const v = v128.load(row + o);
        v128.store(row + o, v128.bitselect(v, f32x4.mul(v128.load(a + o), v), f32x4.ge(v, zero)));
      }
    }
    for (; o < rowBytes; o += 4) {
      const v = load<f32>(row + o);
      store<f32>(row + o, v >= 0 ? v : load<f32>(a + o) * v);
    }
  }
}

/** bits [ceil(c/32)] of one row of float x [c]: fround(x - thr) >= 0 (thr 0: x >= 0); tail bits 0. */
function packRow(row: usize, c: i32, bits: usize, thr: usize): void {
  let pw = bits;
  for (let j0 = 0; j0 < c; j0 += 32) {
    const n = min(32, c - j0);
    let word: u32 = 0;
    let j = 0;
    const at = row + (<usize>j0 << 2);
    const ta = thr + (<usize>j0 << 2);
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; j + 4 <= n; j += 4) {
        let v = v128.load(at + (<usize>j << 2));
        if (thr) v = f32x4.sub(v, v128.load(ta + (<usize>j << 2)));
        word |= (<u32>i32x4.bitmask(f32x4.ge(v, zero))) << j;
      }
    }
    for (; j < n; j++) {
      let v = load<f32>(at + (<usize>j << 2));
      if (thr) v = v - load<f32>(ta + (<usize>j << 2));
      word |= (<u32>(v >= 0)) << j;
    }
    store<u32>(pw, word);
    pw += 4;
  }
}
