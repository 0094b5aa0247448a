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

/** Runs program `prog` over pixels [p0, p1) of out [., outC] (call-relative), pixel `base` of the tensors. */
export function epilogueRows(prog: usize, out: usize, outC: i32, p0: usize, p1: usize, base: usize): void {
  const count = load<i32>(prog);
  const rowBytes = <usize>outC << 2;
  const lanes = ASC_FEATURE_SIMD ? <usize>(outC & ~3) << 2 : 0;
  const first = out + p0 * rowBytes;
  const bytes = (p1 - p0) * rowBytes;
  for (let i = 0; i < count; i++) {
    const op = prog + 4 + <usize>i * OP_BYTES;
    const code = load<i32>(op);
    const a = <usize>load<i32>(op, 4);
    const b = <usize>load<i32>(op, 8);
    if (code == EPI_RELU) {
      reluRun(first, bytes);
    } else if (code == EPI_ADD) {
      addRun(first, a + (base + p0) * rowBytes, bytes);
    } else if (code == EPI_PACK) {
      const words = <usize>((outC + 31) >> 5);
      packRows(first, p1 - p0, outC, a + (base + p0) * (words << 2), b);
    } else {
      const c = <usize>load<i32>(op, 12);
      const d = <usize>load<i32>(op, 16);
      for (let p = p0; p < p1; p++) {
        const row = out + p * rowBytes;
        channelOp(code, row, rowBytes, lanes, a, b, c, d);
      }
    }
  }
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

/** bits [rows, ceil(c/32)] of float x [rows, c]: fround(x - thr) >= 0 (thr 0: x >= 0); tail bits 0. */
function packRows(x: usize, rows: usize, c: i32, bits: usize, thr: usize): void {
  const rowBytes = <usize>c << 2;
  for (let r: usize = 0; r < rows; r++) {
    const row = x + r * rowBytes;
    let pw = bits + r * ((<usize>((c + 31) >> 5)) << 2);
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
}
