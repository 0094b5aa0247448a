// sgemm: C = alpha * op(A) * op(B) + beta * C, row-major, op(A) [m, k], op(B) [k, n].
//
// Blocking (GotoBLAS order, without packing A where its layout is already usable):
//   for each column block jc of NC columns and each depth block pc of kc <= KC:
//     pack op(B)[pc:pc+kc, jc:jc+nc] into panels of NR = 8 columns: panel[p*8 + j]
//     (zero-padded past n), kept in L2;
//     for each strip of MR = 4 rows of op(A) (kept in L1: 4 row pointers, or a packed
//     copy when A is transposed) and each panel: the micro-kernel accumulates
//     acc[r, 0..8] += op(A)[i+r, p] * panel[p, 0..8] for p < kc in 8 f32x4 registers
//     (f32x4.mul + f32x4.add: no FMA without relaxed SIMD), then writes
//     C = alpha * acc + beta * C on the first depth block, C += alpha * acc after it.
// Rows past m reuse row m-1 (never stored), so loads stay in bounds without branches.
// beta = 0 never reads C.

const MR: i32 = 5;
const NR: i32 = 8;
const KC: i32 = 384;
const NC: i32 = 256;
const PACKED_B_BYTES: i32 = KC * NC * 4;
const PACKED_A_BYTES: i32 = KC * MR * 4;
// The scalar kernel works in blocks of 3 rows, so the tile has room for 6 (MR <= 6).
const TILE_BYTES: i32 = 6 * NR * 4;

/** Bytes of scratch that float_sgemm needs (packed B block, packed A strip, an edge tile). */
export function float_sgemmScratchBytes(): i32 {
  return PACKED_B_BYTES + PACKED_A_BYTES + TILE_BYTES;
}

/** Splits `total` into ceil(total / max) nearly equal blocks, rounded up to a multiple of `unit`. */
@inline function blockSize(total: i32, max: i32, unit: i32): i32 {
  const blocks = (total + max - 1) / max;
  const size = (total + blocks - 1) / blocks;
  return min(((size + unit - 1) / unit) * unit, max);
}

/** Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-wide panels at `dst`, zero-padding columns past nc. */
function packB(transB: i32, b: usize, ldb: i32, p0: i32, j0: i32, kc: i32, nc: i32, dst: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const nr = min(NR, nc - jp);
    const panel = dst + <usize>(jp * kc) * 4;
    if (!transB) {
      let src = b + (<usize>p0 * ldb + j0 + jp) * 4;
      const stride = <usize>ldb * 4;
      if (nr == NR) {
        for (let p = 0; p < kc; p++) {
          if (ASC_FEATURE_SIMD) {
            v128.store(panel + <usize>p * 32, v128.load(src));
            v128.store(panel + <usize>p * 32, v128.load(src, 16), 16);
          } else {
            for (let j = 0; j < NR; j++) store<f32>(panel + <usize>(p * 8 + j) * 4, load<f32>(src + <usize>j * 4));
          }
          src += stride;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let j = 0; j < NR; j++) {
            store<f32>(panel + <usize>(p * 8 + j) * 4, j < nr ? load<f32>(src + <usize>j * 4) : 0);
          }
          src += stride;
        }
      }
    } else {
      // op(B)[p, j] = B[j, p]: each panel column is a contiguous run of a stored row.
      for (let j = 0; j < NR; j++) {
        const out = panel + <usize>j * 4;
        if (j < nr) {
          const src = b + (<usize>(j0 + jp + j) * ldb + p0) * 4;
          for (let p = 0; p < kc; p++) store<f32>(out + <usize>p * 32, load<f32>(src + <usize>p * 4));
        } else {
          for (let p = 0; p < kc; p++) store<f32>(out + <usize>p * 32, 0);
        }
      }
    }
  }
}

/**
 * Packs rows i0..i0+mr of op(A), depths p0..p0+kc, into dst[p*MR + r]. Rows past mr repeat
 * row mr-1 (their results are never stored). op(A)[i, p] = transA ? A[p, i] : A[i, p].
 */
function packA(transA: i32, a: usize, lda: i32, i0: i32, mr: i32, p0: i32, kc: i32, dst: usize): void {
  const ld = <usize>lda * 4;
  if (transA) {
    let src = a + (<usize>p0 * lda + i0) * 4;
    if (mr == MR) {
      for (let p = 0; p < kc; p++) {
        const out = dst + <usize>p * MR * 4;
        if (ASC_FEATURE_SIMD) {
          v128.store(out, v128.load(src));
        } else {
          for (let r = 0; r < 4; r++) store<f32>(out + <usize>r * 4, load<f32>(src + <usize>r * 4));
        }
        for (let r = 4; r < MR; r++) store<f32>(out + <usize>r * 4, load<f32>(src + <usize>r * 4));
        src += ld;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const out = dst + <usize>p * MR * 4;
        for (let r = 0; r < MR; r++) store<f32>(out + <usize>r * 4, load<f32>(src + <usize>min(r, mr - 1) * 4));
        src += ld;
      }
    }
  } else {
    for (let r = 0; r < MR; r++) {
      const src = a + (<usize>(i0 + min(r, mr - 1)) * lda + p0) * 4;
      const out = dst + <usize>r * 4;
      for (let p = 0; p < kc; p++) store<f32>(out + <usize>p * MR * 4, load<f32>(src + <usize>p * 4));
    }
  }
}

/** Writes an MR x NR tile held at `tile` into C (the first mr rows, nr columns). */
function storeTile(tile: usize, c: usize, ldc: i32, mr: i32, nr: i32, alpha: f32, beta: f32, first: bool): void {
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * ldc * 4;
    for (let j = 0; j < nr; j++) {
      const v = alpha * load<f32>(tile + <usize>(r * NR + j) * 4);
      const out = row + <usize>j * 4;
      if (!first) store<f32>(out, load<f32>(out) + v);
      else if (beta == 0) store<f32>(out, v);
      else store<f32>(out, v + beta * load<f32>(out));
    }
  }
}

@inline function storeRow(out: usize, lo: v128, hi: v128, alpha: v128, beta: v128, mode: i32): void {
  lo = f32x4.mul(lo, alpha);
  hi = f32x4.mul(hi, alpha);
  if (mode == 1) {
    lo = f32x4.add(lo, f32x4.mul(v128.load(out), beta));
    hi = f32x4.add(hi, f32x4.mul(v128.load(out, 16), beta));
  } else if (mode == 2) {
    lo = f32x4.add(v128.load(out), lo);
    hi = f32x4.add(v128.load(out, 16), hi);
  }
  v128.store(out, lo);
  v128.store(out, hi, 16);
}

/**
 * The 5x8 f32x4 micro-kernel: acc[r] += splat(ap[p*5 + r]) * bp[p*8 .. p*8+8] over kc depths.
 * 10 accumulators + 2 B vectors + 1 broadcast + 1 product = 14 of the 15 XMM registers V8
 * allocates on x64 (6x8 needs 16 and spills). Not unrolled: Binaryen then hoists the
 * loads of both halves and V8 spills.
 * mode: 0 C = alpha*acc, 1 C = alpha*acc + beta*C, 2 C += alpha*acc.
 */
function kernelSimd(
  kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, mr: i32, nr: i32, alpha: f32, beta: f32, mode: i32, tile: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  const end = bp + <usize>kc * 32;
  while (bp < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let av = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(av, b0));
    c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0));
    c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0));
    c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0));
    c31 = f32x4.add(c31, f32x4.mul(av, b1));
    av = v128.load32_splat(ap, 16);
    c40 = f32x4.add(c40, f32x4.mul(av, b0));
    c41 = f32x4.add(c41, f32x4.mul(av, b1));
    ap += 20;
    bp += 32;
  }
  if (mr == MR && nr == NR) {
    const va = f32x4.splat(alpha);
    const vb = f32x4.splat(beta);
    const ld = <usize>ldc * 4;
    storeRow(c, c00, c01, va, vb, mode);
    storeRow(c + ld, c10, c11, va, vb, mode);
    storeRow(c + 2 * ld, c20, c21, va, vb, mode);
    storeRow(c + 3 * ld, c30, c31, va, vb, mode);
    storeRow(c + 4 * ld, c40, c41, va, vb, mode);
  } else {
    v128.store(tile, c00);
    v128.store(tile, c01, 16);
    v128.store(tile, c10, 32);
    v128.store(tile, c11, 48);
    v128.store(tile, c20, 64);
    v128.store(tile, c21, 80);
    v128.store(tile, c30, 96);
    v128.store(tile, c31, 112);
    v128.store(tile, c40, 128);
    v128.store(tile, c41, 144);
    storeTile(tile, c, ldc, mr, nr, alpha, beta, mode != 2);
  }
}

/** Scalar micro-kernel with the same contract: 3x4 blocks of locals, summed into the tile. */
function kernelScalar(
  kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, mr: i32, nr: i32, alpha: f32, beta: f32, mode: i32, tile: usize,
): void {
  for (let r0 = 0; r0 < MR; r0 += 3) {
    // Rows r0..r0+2; past MR the loads read the next packed depth and are never stored.
    for (let j0 = 0; j0 < NR; j0 += 4) {
      let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0;
      let s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0;
      let s20: f32 = 0, s21: f32 = 0, s22: f32 = 0, s23: f32 = 0;
      let a = ap + <usize>r0 * 4;
      let b = bp + <usize>j0 * 4;
      for (let p = 0; p < kc; p++) {
        const b0 = load<f32>(b), b1 = load<f32>(b, 4), b2 = load<f32>(b, 8), b3 = load<f32>(b, 12);
        let av = load<f32>(a);
        s00 += av * b0; s01 += av * b1; s02 += av * b2; s03 += av * b3;
        av = load<f32>(a, 4);
        s10 += av * b0; s11 += av * b1; s12 += av * b2; s13 += av * b3;
        av = load<f32>(a, 8);
        s20 += av * b0; s21 += av * b1; s22 += av * b2; s23 += av * b3;
        a += <usize>MR * 4;
        b += <usize>NR * 4;
      }
      const t = tile + <usize>(r0 * NR + j0) * 4;
      store<f32>(t, s00); store<f32>(t, s01, 4); store<f32>(t, s02, 8); store<f32>(t, s03, 12);
      store<f32>(t, s10, 32); store<f32>(t, s11, 36); store<f32>(t, s12, 40); store<f32>(t, s13, 44);
      store<f32>(t, s20, 64); store<f32>(t, s21, 68); store<f32>(t, s22, 72); store<f32>(t, s23, 76);
    }
  }
  storeTile(tile, c, ldc, mr, nr, alpha, beta, mode != 2);
}

/** C = beta * C (beta = 0 writes zeros), for k = 0. */
function scaleC(m: i32, n: i32, beta: f32, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) {
    const row = c + <usize>i * ldc * 4;
    for (let j = 0; j < n; j++) {
      const out = row + <usize>j * 4;
      store<f32>(out, beta == 0 ? 0 : beta * load<f32>(out));
    }
  }
}

export function float_sgemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, scratch: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    scaleC(m, n, beta, c, ldc);
    return;
  }
  const packedB = scratch;
  const packedA = scratch + <usize>PACKED_B_BYTES;
  const tile = packedA + <usize>PACKED_A_BYTES;
  const ncMax = blockSize(n, NC, NR);
  const kcMax = blockSize(k, KC, 1);
  for (let jc = 0; jc < n; jc += ncMax) {
    const nc = min(ncMax, n - jc);
    for (let pc = 0; pc < k; pc += kcMax) {
      const kc = min(kcMax, k - pc);
      packB(transB, b, ldb, pc, jc, kc, nc, packedB);
      const mode = pc > 0 ? 2 : beta == 0 ? 0 : 1;
      for (let i = 0; i < m; i += MR) {
        const mr = min(MR, m - i);
        packA(transA, a, lda, i, mr, pc, kc, packedA);
        const crow = c + (<usize>i * ldc + jc) * 4;
        for (let j = 0; j < nc; j += NR) {
          const panel = packedB + <usize>(j * kc) * 4;
          const nr = min(NR, nc - j);
          const cp = crow + <usize>j * 4;
          if (ASC_FEATURE_SIMD) kernelSimd(kc, packedA, panel, cp, ldc, mr, nr, alpha, beta, mode, tile);
          else kernelScalar(kc, packedA, panel, cp, ldc, mr, nr, alpha, beta, mode, tile);
        }
      }
    }
  }
}
