// The XOR-popcount ceiling of this runtime, for `onebit bench bgemm` (not a kernel: built
// into its own small module, build/wasm/onebit-probe.wasm, which only that bench loads).
// popcountRegisters is the hardware limit: i64.popcnt on register operands only, eight
// independent chains, so it runs at the CPU's popcount issue rate (x86: one a cycle, so
// 64 MACs a cycle). The xorPopcount loops return the popcount of a XOR b over `bytes`
// bytes (a multiple of 128, at most 4096), `reps` times over the same L1-resident
// operands: the rates of the three instruction forms a kernel can use, with loads but no
// tile, threshold or output cost. A tiled kernel, which loads fewer words a popcount,
// can run above them, never above popcountRegisters.

/** i64.popcnt, four independent accumulators. */
export function xorPopcountScalar(a: usize, b: usize, bytes: i32, reps: i32): i64 {
  let total: i64 = 0;
  for (let r = 0; r < reps; r++) {
    let c0: i64 = 0, c1: i64 = 0, c2: i64 = 0, c3: i64 = 0;
    for (let q: usize = 0; q < <usize>bytes; q += 32) {
      c0 += popcnt<u64>(load<u64>(a + q) ^ load<u64>(b + q));
      c1 += popcnt<u64>(load<u64>(a + q, 8) ^ load<u64>(b + q, 8));
      c2 += popcnt<u64>(load<u64>(a + q, 16) ^ load<u64>(b + q, 16));
      c3 += popcnt<u64>(load<u64>(a + q, 24) ^ load<u64>(b + q, 24));
    }
    total += c0 + c1 + c2 + c3;
  }
  return total;
}

@inline function byteSums(v: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v));
}

@inline function laneSum(v: v128): i64 {
  return <i64>(i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

/** i8x16.popcnt into 8-bit lanes, widened every 512 bytes (16 steps of at most 8 per lane). */
export function xorPopcountV128(a: usize, b: usize, bytes: i32, reps: i32): i64 {
  let total = i32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let q0: usize = 0; q0 < <usize>bytes; q0 += 512) {
      const end = min(q0 + 512, <usize>bytes);
      let c0 = i8x16.splat(0), c1 = i8x16.splat(0);
      for (let q = q0; q < end; q += 32) {
        c0 = i8x16.add(c0, i8x16.popcnt(v128.xor(v128.load(a + q), v128.load(b + q))));
        c1 = i8x16.add(c1, i8x16.popcnt(v128.xor(v128.load(a + q, 16), v128.load(b + q, 16))));
      }
      total = i32x4.add(total, i32x4.add(byteSums(c0), byteSums(c1)));
    }
  }
  return laneSum(total);
}

/** Carry-save adder: the high (carry) and low (sum) bits of a + b + c, bitwise. */
@inline function csaHigh(a: v128, b: v128, c: v128): v128 {
  return v128.or(v128.and(a, b), v128.and(v128.xor(a, b), c));
}

@inline function csaLow(a: v128, b: v128, c: v128): v128 {
  return v128.xor(v128.xor(a, b), c);
}

/**
 * Harley-Seal: eight XORed vectors at a time reduced with carry-save adders into ones,
 * twos and fours, so that only one in eight vectors is popcounted (Mula, Kurz, Lemire
 * 2018). Best when a dot product is long; a 3x3 conv's is 9 words at 64 channels.
 */
export function xorPopcountHarleySeal(a: usize, b: usize, bytes: i32, reps: i32): i64 {
  let total = i32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    let ones = i8x16.splat(0), twos = i8x16.splat(0), fours = i8x16.splat(0), eights = i16x8.splat(0);
    for (let q: usize = 0; q < <usize>bytes; q += 128) {
      const d0 = v128.xor(v128.load(a + q), v128.load(b + q));
      const d1 = v128.xor(v128.load(a + q, 16), v128.load(b + q, 16));
      const d2 = v128.xor(v128.load(a + q, 32), v128.load(b + q, 32));
      const d3 = v128.xor(v128.load(a + q, 48), v128.load(b + q, 48));
      const d4 = v128.xor(v128.load(a + q, 64), v128.load(b + q, 64));
      const d5 = v128.xor(v128.load(a + q, 80), v128.load(b + q, 80));
      const d6 = v128.xor(v128.load(a + q, 96), v128.load(b + q, 96));
      const d7 = v128.xor(v128.load(a + q, 112), v128.load(b + q, 112));
      const tA = csaHigh(ones, d0, d1);
      ones = csaLow(ones, d0, d1);
      const tB = csaHigh(ones, d2, d3);
      ones = csaLow(ones, d2, d3);
      const fA = csaHigh(twos, tA, tB);
      twos = csaLow(twos, tA, tB);
      const tC = csaHigh(ones, d4, d5);
      ones = csaLow(ones, d4, d5);
      const tD = csaHigh(ones, d6, d7);
      ones = csaLow(ones, d6, d7);
      const fB = csaHigh(twos, tC, tD);
      twos = csaLow(twos, tC, tD);
      const e = csaHigh(fours, fA, fB);
      fours = csaLow(fours, fA, fB);
      eights = i16x8.add(eights, i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(e)));
    }
    const count = i16x8.add(
      i16x8.shl(eights, 3),
      i16x8.add(
        i16x8.shl(i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(fours)), 2),
        i16x8.add(
          i16x8.shl(i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(twos)), 1),
          i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(ones)),
        ),
      ),
    );
    total = i32x4.add(total, i32x4.extadd_pairwise_i16x8_u(count));
  }
  return laneSum(total);
}

/**
 * 8 * reps popcounts of register values (each chain adds an odd constant, so the values
 * differ every step and nothing can be hoisted); returns their sum.
 */
export function popcountRegisters(reps: i32): i64 {
  const k: u64 = 0x9e3779b97f4a7c15;
  let r0: u64 = 1, r1: u64 = 2, r2: u64 = 3, r3: u64 = 4, r4: u64 = 5, r5: u64 = 6, r6: u64 = 7, r7: u64 = 8;
  let c0: u64 = 0, c1: u64 = 0, c2: u64 = 0, c3: u64 = 0;
  for (let i = 0; i < reps; i++) {
    r0 += k;
    r1 += k;
    r2 += k;
    r3 += k;
    r4 += k;
    r5 += k;
    r6 += k;
    r7 += k;
    c0 += popcnt<u64>(r0) + popcnt<u64>(r4);
    c1 += popcnt<u64>(r1) + popcnt<u64>(r5);
    c2 += popcnt<u64>(r2) + popcnt<u64>(r6);
    c3 += popcnt<u64>(r3) + popcnt<u64>(r7);
  }
  return <i64>(c0 + c1 + c2 + c3);
}
