// Small vector helpers shared by the float kernels: copy, fill and accumulate runs of
// float32, four lanes at a time in the SIMD build, with a scalar tail.

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
