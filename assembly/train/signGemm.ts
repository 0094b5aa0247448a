// Float GEMM against a +/-1 operand given as sign bits, by table lookup ("four Russians"):
//   out [p, k] = sum_o dy[p, o] * s[o, k],  s = +1 where the pattern bit is 1, else -1.
// The input gradient of a binary layer (dX = dY sign(W)) is this product. The reduction
// axis o is cut into chunks of 8; per chunk and per group of rows, a table holds the 256
// signed sums +-d0 +-d1 ... +-d7 (one per sign pattern), so each output costs one lookup
// and one add per chunk instead of 8 multiply-adds.
//
// pat [ceil(o/8), k] bytes: bit i of pat[c, j] is the sign bit of s[8c + i, j] (0 beyond o).
// dy is [p, o], or with transDy stored transposed as [o, p] (a weight gradient dW = dY^T X
// is this product with p = output channels, o = batch rows, s = sign(X)).
//
// Every implementation (SIMD lanes, scalar, src/kernels/ref/signGemm.ts) does the same f32
// operations in the same order (± = + where the bit is 1, - where it is 0; d = 0 beyond o):
//   pair_q[a] = (±d_2q) + (±d_2q+1)                      a in 0..3, q in 0..3
//   lo[j] = pair_0[j & 3] + pair_1[j >> 2],  hi[j] = pair_2[j & 3] + pair_3[j >> 2]
//   T[j]  = lo[j & 15] + hi[j >> 4]                      j in 0..255
//   out   = ((T_0[pat_0] + T_1[pat_1]) + T_2[pat_2]) + ...   chunks in order

// With a convolution geometry (signGemmCol2im), the product is the input gradient's
// im2col matrix dcols [P, kh*kw*C] and each finished row is added straight into dx the
// way col2im adds it (pixel order, then taps in order: the same additions in the same
// order as col2im of the stored matrix), so dcols is never written to memory.

/** Scratch bytes signGemm needs for an output width of k. */
export function signGemmScratchBytes(k: i32): i32 {
  return (4 << 13) + 512 + 128 + (k << 5) + (k << 4);
}

/** dx [n, h, w, c] += row (one row of dcols, output pixel `pixel`) as col2im adds it; geo = 12 i32. */
@inline function addRowCol2im(row: usize, pixel: i32, geo: usize, dx: usize): void {
  const h = load<i32>(geo, 4);
  const w = load<i32>(geo, 8);
  const c = load<i32>(geo, 12);
  const kh = load<i32>(geo, 16);
  const kw = load<i32>(geo, 20);
  const sh = load<i32>(geo, 24);
  const sw = load<i32>(geo, 28);
  const pt = load<i32>(geo, 32);
  const pl = load<i32>(geo, 36);
  const oh = load<i32>(geo, 40);
  const ow = load<i32>(geo, 44);
  const b = pixel / (oh * ow);
  const rem = pixel - b * oh * ow;
  const oy = rem / ow;
  const ox = rem - oy * ow;
  for (let ky = 0; ky < kh; ky++) {
    const iy = oy * sh - pt + ky;
    if (<u32>iy >= <u32>h) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ox * sw - pl + kx;
      if (<u32>ix >= <u32>w) continue;
      const dst = dx + (<usize>(((b * h + iy) * w + ix) * c) << 2);
      const src = row + (<usize>((ky * kw + kx) * c) << 2);
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        for (; i + 4 <= c; i += 4) {
          const q = dst + (<usize>i << 2);
          v128.store(q, f32x4.add(v128.load(q), v128.load(src + (<usize>i << 2))));
        }
      }
      for (; i < c; i++) {
        const q = dst + (<usize>i << 2);
        store<f32>(q, load<f32>(q) + load<f32>(src + (<usize>i << 2)));
      }
    }
  }
}

/** pat [ceil(o/8), k] from the signs of float32 w [o, k] (bit = w >= 0; NaN gives 0). */
export function signPatterns(o: i32, k: i32, w: usize, pat: usize): void {
  const chunks = (o + 7) >> 3;
  const rowBytes = <usize>k << 2;
  for (let c = 0; c < chunks; c++) {
    const rows = min(8, o - (c << 3));
    const base = w + <usize>(c << 3) * rowBytes;
    const dst = pat + <usize>c * <usize>k;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const z = f32x4.splat(0);
      for (; j + 16 <= k; j += 16) {
        let b = i8x16.splat(0);
        for (let i = 0; i < rows; i++) {
          const p = base + <usize>i * rowBytes + (<usize>j << 2);
          const m = i8x16.narrow_i16x8_s(
            i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p), z), f32x4.ge(v128.load(p, 16), z)),
            i16x8.narrow_i32x4_s(f32x4.ge(v128.load(p, 32), z), f32x4.ge(v128.load(p, 48), z)),
          );
          b = v128.or(b, v128.and(m, i8x16.splat(<i8>(<i32>1 << i))));
        }
        v128.store(dst + <usize>j, b);
      }
    }
    for (; j < k; j++) {
      let b: u32 = 0;
      for (let i = 0; i < rows; i++) {
        b |= (<u32>(load<f32>(base + <usize>i * rowBytes + (<usize>j << 2)) >= 0)) << i;
      }
      store<u8>(dst + <usize>j, <u8>b);
    }
  }
}

// ---- SIMD: four rows of dy per table, one per lane ----

/**
 * d_i for lanes = rows r0..r0+lanes-1 of dy at column col (0 beyond o and beyond the
 * rows); dy is [p, ld] (row r at r * ld), or stored transposed [o, ld] when trans (then
 * the 4 lanes are one contiguous load).
 */
@inline function gather(dy: usize, ld: i32, o: i32, trans: bool, r0: i32, lanes: i32, col: i32): v128 {
  let v = f32x4.splat(0);
  if (col >= o) return v;
  let p: usize;
  let stride: usize;
  if (trans) {
    p = dy + ((<usize>col * <usize>ld + <usize>r0) << 2);
    if (lanes == 4) return v128.load(p);
    stride = 4;
  } else {
    p = dy + ((<usize>r0 * <usize>ld + <usize>col) << 2);
    stride = <usize>ld << 2;
  }
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  if (lanes > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
  return v;
}

/**
 * The 4x4 transpose: given rows a, b, c, d (4 lanes each) at out, out + 16, ... stores
 * columns (a0 b0 c0 d0), (a1 b1 c1 d1), ...
 */
@inline function transpose4(a: v128, b: v128, c: v128, d: v128, out: usize): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(out, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(out, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
  v128.store(out, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
  v128.store(out, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
}

/**
 * The 8 columns of chunk c (d_8c .. d_8c+7) for the 4 rows r0.. of row-major dy, as 8
 * lane vectors at cols: two 4x4 transposes of the rows' contiguous values, when the chunk
 * and the rows are whole (else false: the caller gathers lane by lane).
 */
@inline function gatherChunk(dy: usize, ld: i32, o: i32, r0: i32, lanes: i32, c: i32, cols: usize): bool {
  const col = c << 3;
  if (lanes < 4 || col + 8 > o) return false;
  const p = dy + ((<usize>r0 * <usize>ld + <usize>col) << 2);
  const stride = <usize>ld << 2;
  transpose4(v128.load(p), v128.load(p + stride), v128.load(p + 2 * stride), v128.load(p + 3 * stride), cols);
  transpose4(v128.load(p, 16), v128.load(p + stride, 16), v128.load(p + 2 * stride, 16), v128.load(p + 3 * stride, 16), cols + 64);
  return true;
}

// Rows go in pairs of lane groups (8 rows): tables of BLOCK chunks are built for both
// groups first (BLOCK * 8 KiB, L1-sized); then each run of 4 output columns accumulates
// across those chunks in 8 registers, one pattern load serving both groups.
const BLOCK = 4;

/**
 * The 16 entries pair01[j & 3] + pair23[j >> 2] at qp (pair01[a] = (±a0) + (±a1), bit 0
 * of a the sign of a0; pair23 likewise), from the four values' lane vectors, in registers:
 * the pair and quad sums of the header, in that order (x + (-y) is x - y exactly).
 */
@inline function quadsOf(a0: v128, a1: v128, a2: v128, a3: v128, qp: usize): void {
  const n0 = f32x4.neg(a0);
  const p0 = f32x4.sub(n0, a1);
  const p1 = f32x4.sub(a0, a1);
  const p2 = f32x4.add(n0, a1);
  const p3 = f32x4.add(a0, a1);
  const n2 = f32x4.neg(a2);
  let q = f32x4.sub(n2, a3);
  v128.store(qp, f32x4.add(p0, q));
  v128.store(qp, f32x4.add(p1, q), 16);
  v128.store(qp, f32x4.add(p2, q), 32);
  v128.store(qp, f32x4.add(p3, q), 48);
  q = f32x4.sub(a2, a3);
  v128.store(qp, f32x4.add(p0, q), 64);
  v128.store(qp, f32x4.add(p1, q), 80);
  v128.store(qp, f32x4.add(p2, q), 96);
  v128.store(qp, f32x4.add(p3, q), 112);
  q = f32x4.add(n2, a3);
  v128.store(qp, f32x4.add(p0, q), 128);
  v128.store(qp, f32x4.add(p1, q), 144);
  v128.store(qp, f32x4.add(p2, q), 160);
  v128.store(qp, f32x4.add(p3, q), 176);
  q = f32x4.add(a2, a3);
  v128.store(qp, f32x4.add(p0, q), 192);
  v128.store(qp, f32x4.add(p1, q), 208);
  v128.store(qp, f32x4.add(p2, q), 224);
  v128.store(qp, f32x4.add(p3, q), 240);
}

/** lo (16 entries) at qp and hi (16 entries) at qp + 256 of chunk c for the rows r0.. (lanes). */
@inline function buildQuads(dy: usize, ld: i32, o: i32, trans: bool, r0: i32, lanes: i32, c: i32, stage: usize, qp: usize): void {
  const col = c << 3;
  // stage holds the chunk's 8 lane vectors when they come from two transposes.
  const cols = stage;
  if (!trans && gatherChunk(dy, ld, o, r0, lanes, c, cols)) {
    quadsOf(v128.load(cols), v128.load(cols, 16), v128.load(cols, 32), v128.load(cols, 48), qp);
    quadsOf(v128.load(cols, 64), v128.load(cols, 80), v128.load(cols, 96), v128.load(cols, 112), qp + 256);
  } else {
    quadsOf(
      gather(dy, ld, o, trans, r0, lanes, col),
      gather(dy, ld, o, trans, r0, lanes, col + 1),
      gather(dy, ld, o, trans, r0, lanes, col + 2),
      gather(dy, ld, o, trans, r0, lanes, col + 3),
      qp,
    );
    quadsOf(
      gather(dy, ld, o, trans, r0, lanes, col + 4),
      gather(dy, ld, o, trans, r0, lanes, col + 5),
      gather(dy, ld, o, trans, r0, lanes, col + 6),
      gather(dy, ld, o, trans, r0, lanes, col + 7),
      qp + 256,
    );
  }
}

/** The 256-entry table T[j] = lo[j & 15] + hi[j >> 4] of chunk c for the rows r0.. (lanes) at tp. */
@inline function buildTable(dy: usize, ld: i32, o: i32, trans: bool, r0: i32, lanes: i32, c: i32, quads: usize, stage: usize, tp: usize): void {
  buildQuads(dy, ld, o, trans, r0, lanes, c, stage, quads);
  for (let h = 0; h < 16; h++) {
    const hv = v128.load(quads + 256 + (<usize>h << 4));
    const row = tp + (<usize>h << 8);
    for (let l = 0; l < 16; l++) v128.store(row + (<usize>l << 4), f32x4.add(v128.load(quads + (<usize>l << 4)), hv));
  }
}

@inline function tableAt(tables: usize, t: i32, group: i32): usize {
  return tables + (<usize>t << 13) + (<usize>group << 12);
}

@inline function entry(table: usize, byte: u32): v128 {
  return v128.load(table + (<usize>byte << 4));
}

// Narrow outputs (k < NIBBLE_K) do not repay a 256-entry table per chunk: they look up
// lo and hi (16 entries each) and add T = lo + hi themselves, the same operations.
const NIBBLE_K = 512;
const NIBBLE_BLOCK = 16;

@inline function quadsAt(tables: usize, t: i32, group: i32): usize {
  return tables + (<usize>t << 10) + (<usize>group << 9);
}

@inline function nibbleEntry(q: usize, b: u32): v128 {
  return f32x4.add(v128.load(q + (<usize>(b & 15) << 4)), v128.load(q + 256 + (<usize>(b >> 4) << 4)));
}

/** The tables of chunk t (relative to the block) for lane group g: 256 entries, or lo/hi. */
@inline function tablesOf(nibbles: bool, tables: usize, t: i32, g: i32): usize {
  return nibbles ? quadsAt(tables, t, g) : tableAt(tables, t, g);
}

/** T[byte] of one chunk's tables: a 256-entry lookup, or lo[byte & 15] + hi[byte >> 4]. */
@inline function lookup(nibbles: bool, table: usize, byte: u32): v128 {
  return nibbles ? nibbleEntry(table, byte) : entry(table, byte);
}

/**
 * acc (+)= the lookups of chunks c0..c1-1 for `groups` (1 or 2) lane groups, from 256-entry
 * tables or (nibbles) lo/hi tables; `nibbles` is a constant at both call sites, so each
 * compiles to its own loop.
 */
@inline function accumulateWith(
  nibbles: bool, tables: usize, pat: usize, k: i32, c0: i32, c1: i32, groups: i32, accA: usize, accB: usize,
): void {
  const k4 = k & ~3;
  const first = c0 == 0;
  let j = 0;
  for (; j < k4; j += 4) {
    const pa = accA + (<usize>j << 4);
    const pb = accB + (<usize>j << 4);
    let a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128;
    let c = c0;
    if (first) {
      const w = load<u32>(pat + <usize>j);
      const tA = tablesOf(nibbles, tables, 0, 0);
      const tB = tablesOf(nibbles, tables, 0, 1);
      a0 = lookup(nibbles, tA, w & 255);
      a1 = lookup(nibbles, tA, (w >> 8) & 255);
      a2 = lookup(nibbles, tA, (w >> 16) & 255);
      a3 = lookup(nibbles, tA, w >> 24);
      b0 = lookup(nibbles, tB, w & 255);
      b1 = lookup(nibbles, tB, (w >> 8) & 255);
      b2 = lookup(nibbles, tB, (w >> 16) & 255);
      b3 = lookup(nibbles, tB, w >> 24);
      c = 1;
    } else {
      a0 = v128.load(pa);
      a1 = v128.load(pa, 16);
      a2 = v128.load(pa, 32);
      a3 = v128.load(pa, 48);
      b0 = v128.load(pb);
      b1 = v128.load(pb, 16);
      b2 = v128.load(pb, 32);
      b3 = v128.load(pb, 48);
    }
    for (; c < c1; c++) {
      const w = load<u32>(pat + <usize>c * <usize>k + <usize>j);
      const tA = tablesOf(nibbles, tables, c - c0, 0);
      const tB = tablesOf(nibbles, tables, c - c0, 1);
      const i0 = w & 255, i1 = (w >> 8) & 255, i2 = (w >> 16) & 255, i3 = w >> 24;
      a0 = f32x4.add(a0, lookup(nibbles, tA, i0));
      b0 = f32x4.add(b0, lookup(nibbles, tB, i0));
      a1 = f32x4.add(a1, lookup(nibbles, tA, i1));
      b1 = f32x4.add(b1, lookup(nibbles, tB, i1));
      a2 = f32x4.add(a2, lookup(nibbles, tA, i2));
      b2 = f32x4.add(b2, lookup(nibbles, tB, i2));
      a3 = f32x4.add(a3, lookup(nibbles, tA, i3));
      b3 = f32x4.add(b3, lookup(nibbles, tB, i3));
    }
    v128.store(pa, a0);
    v128.store(pa, a1, 16);
    v128.store(pa, a2, 32);
    v128.store(pa, a3, 48);
    if (groups > 1) {
      v128.store(pb, b0);
      v128.store(pb, b1, 16);
      v128.store(pb, b2, 32);
      v128.store(pb, b3, 48);
    }
  }
  for (; j < k; j++) {
    for (let g = 0; g < groups; g++) {
      const pa = (g == 0 ? accA : accB) + (<usize>j << 4);
      let c = c0;
      let a: v128;
      if (first) {
        a = lookup(nibbles, tablesOf(nibbles, tables, 0, g), load<u8>(pat + <usize>j));
        c = 1;
      } else {
        a = v128.load(pa);
      }
      for (; c < c1; c++) {
        a = f32x4.add(a, lookup(nibbles, tablesOf(nibbles, tables, c - c0, g), load<u8>(pat + <usize>c * <usize>k + <usize>j)));
      }
      v128.store(pa, a);
    }
  }
}

function accumulate(tables: usize, pat: usize, k: i32, c0: i32, c1: i32, groups: i32, accA: usize, accB: usize): void {
  accumulateWith(false, tables, pat, k, c0, c1, groups, accA, accB);
}

function accumulateNibbles(tables: usize, pat: usize, k: i32, c0: i32, c1: i32, groups: i32, accA: usize, accB: usize): void {
  accumulateWith(true, tables, pat, k, c0, c1, groups, accA, accB);
}

/** Rows r0..r0+lanes-1 of out from the lanes of acc (4x4 transposes for whole rows). */
@inline function scatter(acc: usize, out: usize, k: i32, r0: i32, lanes: i32, tmp: usize): void {
  const rowBytes = <usize>k << 2;
  let j = 0;
  if (lanes == 4) {
    const po = out + <usize>r0 * rowBytes;
    for (; j + 4 <= k; j += 4) {
      const pa = acc + (<usize>j << 4);
      transpose4(v128.load(pa), v128.load(pa, 16), v128.load(pa, 32), v128.load(pa, 48), tmp);
      const pj = po + (<usize>j << 2);
      v128.store(pj, v128.load(tmp));
      v128.store(pj + rowBytes, v128.load(tmp, 16));
      v128.store(pj + 2 * rowBytes, v128.load(tmp, 32));
      v128.store(pj + 3 * rowBytes, v128.load(tmp, 48));
    }
  }
  for (let l = 0; l < lanes; l++) {
    const po = out + <usize>(r0 + l) * rowBytes;
    const pa = acc + (<usize>l << 2);
    for (let jj = j; jj < k; jj++) store<f32>(po + (<usize>jj << 2), load<f32>(pa + (<usize>jj << 4)));
  }
}

/** Rows r0.. (lanes) of the product, from the lanes of acc, added into dx as col2im (rows staged in tmp). */
@inline function scatterCol2im(acc: usize, k: i32, r0: i32, lanes: i32, tmp: usize, t4: usize, geo: usize, p0: i32, dx: usize): void {
  const rowBytes = <usize>k << 2;
  scatter(acc, tmp, k, 0, lanes, t4);
  for (let l = 0; l < lanes; l++) addRowCol2im(tmp + <usize>l * rowBytes, p0 + r0 + l, geo, dx);
}

function signGemmSimd(p: i32, o: i32, k: i32, dy: usize, ld: i32, trans: bool, pat: usize, scratch: usize, out: usize, geo: usize, p0: i32): void {
  const chunks = (o + 7) >> 3;
  const tables = scratch;
  const quads = scratch + (BLOCK << 13);
  const stage = quads + 512; // 128 bytes: a chunk's transposed columns, or a 4x4 block
  const accA = stage + 128;
  const accB = accA + (<usize>k << 4);
  for (let r0 = 0; r0 < p; r0 += 8) {
    const lanesA = min(4, p - r0);
    const lanesB = min(4, p - r0 - 4);
    const groups = lanesB > 0 ? 2 : 1;
    if (k < NIBBLE_K) {
      for (let c0 = 0; c0 < chunks; c0 += NIBBLE_BLOCK) {
        const c1 = min(chunks, c0 + NIBBLE_BLOCK);
        for (let c = c0; c < c1; c++) {
          buildQuads(dy, ld, o, trans, r0, lanesA, c, stage, quadsAt(tables, c - c0, 0));
          if (groups > 1) buildQuads(dy, ld, o, trans, r0 + 4, lanesB, c, stage, quadsAt(tables, c - c0, 1));
        }
        accumulateNibbles(tables, pat, k, c0, c1, groups, accA, accB);
      }
    } else {
      for (let c0 = 0; c0 < chunks; c0 += BLOCK) {
        const c1 = min(chunks, c0 + BLOCK);
        for (let c = c0; c < c1; c++) {
          buildTable(dy, ld, o, trans, r0, lanesA, c, quads, stage, tableAt(tables, c - c0, 0));
          if (groups > 1) buildTable(dy, ld, o, trans, r0 + 4, lanesB, c, quads, stage, tableAt(tables, c - c0, 1));
        }
        accumulate(tables, pat, k, c0, c1, groups, accA, accB);
      }
    }
    if (geo) {
      const tmp = accB + (<usize>k << 4);
      scatterCol2im(accA, k, r0, lanesA, tmp, stage, geo, p0, out);
      if (groups > 1) scatterCol2im(accB, k, r0 + 4, lanesB, tmp, stage, geo, p0, out);
    } else {
      scatter(accA, out, k, r0, lanesA, stage);
      if (groups > 1) scatter(accB, out, k, r0 + 4, lanesB, stage);
    }
  }
}

// ---- scalar: one row of dy per table (same operations as one SIMD lane) ----

@inline function d1(dy: usize, ld: i32, o: i32, trans: bool, r: i32, col: i32): f32 {
  if (col >= o) return 0;
  const at = trans ? <usize>col * <usize>ld + <usize>r : <usize>r * <usize>ld + <usize>col;
  return load<f32>(dy + (at << 2));
}

function signGemmScalar(p: i32, o: i32, k: i32, dy: usize, ld: i32, trans: bool, pat: usize, scratch: usize, out: usize, geo: usize, p0: i32): void {
  const chunks = (o + 7) >> 3;
  const table = scratch;
  const quads = scratch + 4096;
  const pairs = quads + 512;
  const acc = pairs + 256;
  for (let r = 0; r < p; r++) {
    for (let c = 0; c < chunks; c++) {
      const col = c << 3;
      for (let q = 0; q < 4; q++) {
        const a = d1(dy, ld, o, trans, r, col + 2 * q);
        const b = d1(dy, ld, o, trans, r, col + 2 * q + 1);
        const pp = pairs + (<usize>q << 4);
        store<f32>(pp, -a + -b);
        store<f32>(pp, a + -b, 4);
        store<f32>(pp, -a + b, 8);
        store<f32>(pp, a + b, 12);
      }
      for (let h = 0; h < 2; h++) {
        const lo = pairs + (<usize>(2 * h) << 4);
        const hi = lo + 16;
        const qp = quads + (<usize>h << 6);
        for (let j = 0; j < 16; j++) {
          store<f32>(qp + (<usize>j << 2), load<f32>(lo + (<usize>(j & 3) << 2)) + load<f32>(hi + (<usize>(j >> 2) << 2)));
        }
      }
      for (let j = 0; j < 256; j++) {
        const v = load<f32>(quads + (<usize>(j & 15) << 2)) + load<f32>(quads + 64 + (<usize>(j >> 4) << 2));
        store<f32>(table + (<usize>j << 2), v);
      }
      const pc = pat + <usize>c * <usize>k;
      for (let j = 0; j < k; j++) {
        const t = load<f32>(table + (<usize>load<u8>(pc + <usize>j) << 2));
        const pa = acc + (<usize>j << 2);
        store<f32>(pa, c == 0 ? t : load<f32>(pa) + t);
      }
    }
    if (geo) addRowCol2im(acc, p0 + r, geo, out);
    else memory.copy(out + <usize>r * (<usize>k << 2), acc, <usize>k << 2);
  }
}

/**
 * out [p, k] = dy [p, o] times the +/-1 matrix of pat (see above); dy's rows are ld floats
 * apart (transDy: stored transposed, [o, ld], its columns being the rows of the product,
 * so a block of rows is a pointer offset: threads split either layout by rows).
 */
export function signGemm(p: i32, o: i32, k: i32, dy: usize, ld: i32, transDy: i32, pat: usize, scratch: usize, out: usize): void {
  if (ASC_FEATURE_SIMD) signGemmSimd(p, o, k, dy, ld, transDy != 0, pat, scratch, out, 0, 0);
  else signGemmScalar(p, o, k, dy, ld, transDy != 0, pat, scratch, out, 0, 0);
}

/**
 * dx [n, h, w, c] += col2im(dy S): rows p0 .. p0+p-1 of a convolution's input gradient
 * (dy [p, ld] holds those rows; k = kh*kw*c), added into dx as they are finished (see
 * above). geo: 12 i32 (n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW).
 * Threads split the rows at image boundaries (no two write one dx element).
 */
export function signGemmCol2im(p: i32, o: i32, k: i32, dy: usize, ld: i32, pat: usize, scratch: usize, geo: usize, p0: i32, dx: usize): void {
  if (ASC_FEATURE_SIMD) signGemmSimd(p, o, k, dy, ld, false, pat, scratch, dx, geo, p0);
  else signGemmScalar(p, o, k, dy, ld, false, pat, scratch, dx, geo, p0);
}
