// sgemm: C = alpha * op(A) * op(B) + beta * C, row-major, op(A) [m, k], op(B) [k, n].
//
// Blocking (GotoBLAS order, without packing A where its layout is already usable):
//   for each column block jc of nc <= NC columns and each depth block pc of kc <= KC
//   (blocks split evenly, so k = 288 is one block, not 256 + 32):
//     pack op(B)[pc:pc+kc, jc:jc+nc] into panels of NR = 8 columns, panel[p*8 + j]
//     (zero-padded past n; 4x4 shuffles transpose B^T), kept in L2;
//     for each strip of MR = 5 rows of op(A) (in place when A is row-major, a packed
//     depth-major copy when A is transposed), kept in L1, and each panel, the micro-kernel
//       acc[r, 0..8] += splat(op(A)[i+r, p]) * panel[p, 0..8],  p < kc,
//     in 10 f32x4 registers (madd: f32x4.mul + f32x4.add, or one fused f32x4.relaxed_madd in the relaxed-SIMD build), then
//     writes C = alpha * acc + beta * C on the first depth block, C += alpha * acc after.
// Rows past m reuse row m-1 (never stored), so loads stay in bounds without branches.
// beta = 0 never reads C. With fewer than 16 columns and more rows than columns the
// transposed problem C^T = op(B)^T op(A)^T is computed instead (tiles stored transposed).
// A single output row is a matrix-vector product (gemv.ts).
//
// Ceiling: without FMA each step is a multiply and an add; at two f32x4 multiplies and two
// adds per cycle that is 16 flop/cycle, 41.6 GFLOP/s at this machine's 2.6 GHz, and the
// 5x8 kernel measures 40-43 GFLOP/s on cached blocks: it is at the ports' limit.
// Tried and measured slower or equal under V8 (Node 20): 4x8 (fewer flops per load),
// 6x8 (needs 16 XMM registers: one spill per step), 3x12 (wastes columns at n = 32/64),
// 2x unrolling (Binaryen merges the halves: spills), A pre-broadcast in the packed strip
// (fewer instructions, same speed: the FP ports are the limit), an inlined micro-kernel.

import { gemvCols, gemvColsStream, gemvRows } from "./gemv";
import { madd } from "./vec";

const MR: i32 = 5;
const NR: i32 = 8;
const KC: i32 = 384;
const NC: i32 = 256;
const PACKED_B_BYTES: i32 = KC * NC * 4;
const PACKED_A_BYTES: i32 = KC * MR * 4;
const TILE_BYTES: i32 = MR * NR * 4;

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
    } else if (ASC_FEATURE_SIMD && nr == NR) {
      // op(B)[p, j] = B[j, p]: transpose 4x4 blocks of stored rows into the panel.
      const src = b + (<usize>(j0 + jp) * ldb + p0) * 4;
      const ld = <usize>ldb * 4;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (let half = 0; half < 2; half++) {
          const s0 = src + <usize>half * 4 * ld + <usize>p * 4;
          transposeStore4(v128.load(s0), v128.load(s0 + ld), v128.load(s0 + 2 * ld), v128.load(s0 + 3 * ld),
            panel + <usize>(p * NR + half * 4) * 4);
        }
      }
      for (; p < kc; p++) {
        for (let j = 0; j < NR; j++) store<f32>(panel + <usize>(p * NR + j) * 4, load<f32>(src + <usize>j * ld + <usize>p * 4));
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

/** Stores the transpose of rows r0..r3 (4 floats each): out + q*32 receives (r0[q], r1[q], r2[q], r3[q]). */
@inline function transposeStore4(r0: v128, r1: v128, r2: v128, r3: v128, out: usize): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(out, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(out, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 32);
  v128.store(out, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 64);
  v128.store(out, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 96);
}

/**
 * Packs rows i0..i0+mr of op(A) = A^T (A stored [k, m]), depths p0..p0+kc, into
 * dst[p*MR + r]. Rows past mr repeat row mr-1.
 */
function packA(a: usize, lda: i32, i0: i32, mr: i32, p0: i32, kc: i32, dst: usize): void {
  const ld = <usize>lda * 4;
  let src = a + (<usize>p0 * lda + i0) * 4;
  for (let p = 0; p < kc; p++) {
    const out = dst + <usize>p * MR * 4;
    if (mr == MR) {
      if (ASC_FEATURE_SIMD) {
        v128.store(out, v128.load(src));
      } else {
        for (let r = 0; r < 4; r++) store<f32>(out + <usize>r * 4, load<f32>(src + <usize>r * 4));
      }
      store<f32>(out, load<f32>(src, 16), 16);
    } else {
      for (let r = 0; r < MR; r++) store<f32>(out + <usize>r * 4, load<f32>(src + <usize>min(r, mr - 1) * 4));
    }
    src += ld;
  }
}

/** Writes an MR x NR tile held at `tile` into C (the first mr rows, nr columns). */
function storeTile(
  tile: usize, c: usize, ldc: i32, ct: i32, mr: i32, nr: i32, alpha: f32, beta: f32, first: bool,
): void {
  // Tile element (r, j) goes to C[r, j], or to C[j, r] when computing C^T (ct = 1).
  const rs: usize = ct ? 4 : <usize>ldc * 4;
  const cs: usize = ct ? <usize>ldc * 4 : 4;
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * rs;
    for (let j = 0; j < nr; j++) {
      const v = alpha * load<f32>(tile + <usize>(r * NR + j) * 4);
      const out = row + <usize>j * cs;
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
 * The 5x8 f32x4 micro-kernel: acc[r] += splat(a_r[p * step]) * bp[p*8 .. p*8+8] over kc depths.
 * 10 accumulators + 2 B vectors + 1 broadcast + 1 product = 14 of the 15 XMM registers V8
 * allocates on x64 (6x8 needs 16 and spills). Not unrolled: Binaryen then hoists the
 * loads of both halves and V8 spills.
 * mode: 0 C = alpha*acc, 1 C = alpha*acc + beta*C, 2 C += alpha*acc.
 */
function kernelSimd(
  kc: i32, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize, step: usize, bp: usize,
  c: usize, ldc: i32, ct: i32, mr: i32, nr: i32, alpha: f32, beta: f32, mode: i32, tile: usize,
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
    let av = v128.load32_splat(a0);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a1);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a2);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a3);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    av = v128.load32_splat(a4);
    c40 = madd(av, b0, c40);
    c41 = madd(av, b1, c41);
    a0 += step;
    a1 += step;
    a2 += step;
    a3 += step;
    a4 += step;
    bp += 32;
  }
  if (!ct && mr == MR && nr == NR) {
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
    storeTile(tile, c, ldc, ct, mr, nr, alpha, beta, mode != 2);
  }
}

/** Scalar micro-kernel with the same contract: one row of 8 accumulators at a time. */
function kernelScalar(
  kc: i32, a0: usize, a1: usize, a2: usize, a3: usize, a4: usize, step: usize, bp: usize,
  c: usize, ldc: i32, ct: i32, mr: i32, nr: i32, alpha: f32, beta: f32, mode: i32, tile: usize,
): void {
  for (let r = 0; r < MR; r++) {
    let a = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : r == 3 ? a3 : a4;
    let b = bp;
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
    for (let p = 0; p < kc; p++) {
      const av = load<f32>(a);
      s0 += av * load<f32>(b); s1 += av * load<f32>(b, 4); s2 += av * load<f32>(b, 8); s3 += av * load<f32>(b, 12);
      s4 += av * load<f32>(b, 16); s5 += av * load<f32>(b, 20); s6 += av * load<f32>(b, 24); s7 += av * load<f32>(b, 28);
      a += step;
      b += 32;
    }
    const t = tile + <usize>(r * NR) * 4;
    store<f32>(t, s0); store<f32>(t, s1, 4); store<f32>(t, s2, 8); store<f32>(t, s3, 12);
    store<f32>(t, s4, 16); store<f32>(t, s5, 20); store<f32>(t, s6, 24); store<f32>(t, s7, 28);
  }
  storeTile(tile, c, ldc, ct, mr, nr, alpha, beta, mode != 2);
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
  if (n < 2 * NR && m > n) {
    // Few columns (e.g. dW of a first conv layer: 32 x 9): compute C^T = op(B)^T op(A)^T
    // instead, so that the narrow side becomes rows (padded to 5, not 8 or 16) and each
    // packed A strip serves several panels.
    gemm(transB ^ 1, transA ^ 1, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, 1, scratch);
  } else {
    gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, scratch);
  }
}

/** The blocked product; ct = 1 writes the m x n result transposed (C^T). */
function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, ct: i32, scratch: usize,
): void {
  if (m == 1 && k + n + 4 <= PACKED_B_BYTES / 4) {
    // One output row: a matrix-vector product reading B once, in place. Scratch holds a
    // contiguous copy of a strided x, then gemvColsStream's accumulator row.
    let x = a;
    if (transA && lda != 1) {
      for (let p = 0; p < k; p++) store<f32>(scratch + <usize>p * 4, load<f32>(a + <usize>p * lda * 4));
      x = scratch;
    }
    const ys: usize = ct ? <usize>ldc * 4 : 4;
    const acc = scratch + ((<usize>k * 4 + 15) & ~15);
    if (transB) gemvRows(n, k, alpha, x, b, ldb, beta, c, ys);
    else if (n >= 64) gemvColsStream(n, k, alpha, x, b, ldb, beta, c, ys, acc);
    else gemvCols(n, k, alpha, x, b, ldb, beta, c, ys);
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
        // Rows past mr repeat row mr-1: their results are never stored.
        let a0: usize, a1: usize, a2: usize, a3: usize, a4: usize, step: usize;
        if (transA) {
          // A^T rows are strided in memory: copy the strip into contiguous depth-major order.
          packA(a, lda, i, mr, pc, kc, packedA);
          a0 = packedA;
          a1 = packedA + 4;
          a2 = packedA + 8;
          a3 = packedA + 12;
          a4 = packedA + 16;
          step = <usize>MR * 4;
        } else {
          // A rows are contiguous along depth: read them in place.
          const base = a + (<usize>i * lda + pc) * 4;
          const ld = <usize>lda * 4;
          a0 = base;
          a1 = base + <usize>min(1, mr - 1) * ld;
          a2 = base + <usize>min(2, mr - 1) * ld;
          a3 = base + <usize>min(3, mr - 1) * ld;
          a4 = base + <usize>min(4, mr - 1) * ld;
          step = 4;
        }
        for (let j = 0; j < nc; j += NR) {
          const bp = packedB + <usize>(j * kc) * 4;
          const nr = min(NR, nc - j);
          const cp = c + (ct ? <usize>(jc + j) * ldc + i : <usize>i * ldc + jc + j) * 4;
          if (ASC_FEATURE_SIMD) kernelSimd(kc, a0, a1, a2, a3, a4, step, bp, cp, ldc, ct, mr, nr, alpha, beta, mode, tile);
          else kernelScalar(kc, a0, a1, a2, a3, a4, step, bp, cp, ldc, ct, mr, nr, alpha, beta, mode, tile);
        }
      }
    }
  }
}
