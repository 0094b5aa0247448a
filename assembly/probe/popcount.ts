// The XOR-popcount ceiling of this runtime, for `onebit bench bgemm` (not a kernel: built
// into its own small module, build/wasm/onebit-probe.wasm, which only that bench loads).
// Each function returns the popcount of a XOR b over `bytes` bytes (a multiple of 128),
// `reps` times over the same L1-resident operands, so its rate is the bare instruction
// throughput with no tile, threshold or memory cost: a binary GEMM or conv cannot beat
// the fastest of them.

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
