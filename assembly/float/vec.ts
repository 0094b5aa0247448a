// Small vector helpers shared by the float kernels: copy, fill and accumulate runs of
// float32, four lanes at a time in the SIMD build, with a scalar tail; and madd, the
// multiply-add of the dot-product loops.

/**
 * a * b + c on four float32 lanes. The relaxed-SIMD build (--enable relaxed-simd) emits
 * f32x4.relaxed_madd, which the runtime may fuse (one rounding, as x64 FMA3 and ARM NEON
 * do) or not; the SIMD build rounds the product, then the sum. Only the accumulation
 * loops of the float GEMM, GEMV and fused first layer use it, so the relaxed build's
 * results differ from the SIMD build's by rounding there and nowhere else.
 */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

@inline export function copyF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(dst + <usize>i * 4, v128.load(src + <usize>i * 4));
  }
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, load<f32>(src + <usize>i * 4));
}

@inline export function fillF32(dst: usize, value: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const v = f32x4.splat(value);
    for (; i + 4 <= n; i += 4) v128.store(dst + <usize>i * 4, v);
  }
  for (; i < n; i++) store<f32>(dst + <usize>i * 4, value);
}

/** dst[i] += src[i]. */
@inline export function addIntoF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const p = dst + <usize>i * 4;
      v128.store(p, f32x4.add(v128.load(p), v128.load(src + <usize>i * 4)));
    }
  }
  for (; i < n; i++) {
    const p = dst + <usize>i * 4;
    store<f32>(p, load<f32>(p) + load<f32>(src + <usize>i * 4));
  }
}
