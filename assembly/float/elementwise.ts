// Elementwise kernels, float32 throughout, four lanes at a time in the SIMD build.
// Outputs may alias inputs: each element is read before it is written.
//   binary:       out[i] = a[i] op b[i]
//   binaryRow:    out[r, j] = a[r, j] op v[j]
//   binaryScalar: out[i] = a[i] op s
//   unary:        out[i] = f(x[i]);  unaryBackward: dx[i] (+)= dy[i] * f'(x[i])
//   axpy:         y[i] += alpha * x[i]
// Op codes match src/kernels/wasm/float.ts. max/min propagate NaN (f32.max semantics).
// f' follows src/kernels/ref/elementwise.ts: relu 1{x > 0}; hardtanh 1{|x| <= 1}; sign
// 1{|x| <= clip} (the straight-through estimator's clip value, 1 by default);
// approx_sign (forward sign) max(0, 2 - 2|x|); neg -1; abs sign(x) with 0 at 0; square 2x; sqrt 0.5/sqrt(x); exp exp(x); log 1/x.
// The derivative is multiplied (not selected) so that Inf * 0 gives NaN exactly as in ref.
import { copyF32, fillF32 } from "./vec";

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAX = 4, MIN = 5;
const RELU = 0, HARDTANH = 1, SIGN = 2, NEG = 3, ABS = 4, SQUARE = 5, SQRT = 6, EXP = 7, LOG = 8;
const APPROX_SIGN = 9;

@inline function op1(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case MAX: return max(a, b);
    default: return min(a, b);
  }
}

@inline function op4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    case MAX: return f32x4.max(a, b);
    default: return f32x4.min(a, b);
  }
}

function binarySpan(op: i32, n: i32, a: usize, b: usize, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, op4(op, v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(out + o, op1(op, load<f32>(a + o), load<f32>(b + o)));
  }
}

export function float_binary(op: i32, n: i32, a: usize, b: usize, out: usize): void {
  binarySpan(op, n, a, b, out);
}

export function float_binaryRow(op: i32, rows: i32, cols: i32, a: usize, v: usize, out: usize): void {
  const stride = <usize>cols * 4;
  for (let r = 0; r < rows; r++) binarySpan(op, cols, a + <usize>r * stride, v, out + <usize>r * stride);
}

export function float_binaryScalar(op: i32, n: i32, a: usize, s: f32, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i * 4;
      v128.store(out + o, op4(op, v128.load(a + o), sv));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(out + o, op1(op, load<f32>(a + o), s));
  }
}

@inline function unary1(op: i32, x: f32): f32 {
  switch (op) {
    case RELU: return max(x, 0);
    case HARDTANH: return min(max(x, -1), 1);
    case SIGN:
    case APPROX_SIGN: return x >= 0 ? 1 : -1;
    case NEG: return -x;
    case ABS: return abs(x);
    case SQUARE: return x * x;
    case SQRT: return sqrt(x);
    case EXP: return Mathf.exp(x);
    default: return Mathf.log(x);
  }
}

export function float_unary(op: i32, n: i32, x: usize, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (op != EXP && op != LOG) {
      const zero = f32x4.splat(0), one = f32x4.splat(1), minusOne = f32x4.splat(-1);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i * 4;
        const v = v128.load(x + o);
        let r: v128;
        switch (op) {
          case RELU: r = f32x4.max(v, zero); break;
          case HARDTANH: r = f32x4.min(f32x4.max(v, minusOne), one); break;
          case SIGN:
          case APPROX_SIGN: r = v128.bitselect(one, minusOne, f32x4.ge(v, zero)); break;
          case NEG: r = f32x4.neg(v); break;
          case ABS: r = f32x4.abs(v); break;
          case SQUARE: r = f32x4.mul(v, v); break;
          default: r = f32x4.sqrt(v);
        }
        v128.store(out + o, r);
      }
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(out + o, unary1(op, load<f32>(x + o)));
  }
}

@inline function derivative1(op: i32, x: f32, clip: f32): f32 {
  switch (op) {
    case RELU: return x > 0 ? 1 : 0;
    case HARDTANH: return abs(x) <= 1 ? 1 : 0;
    case SIGN: return abs(x) <= clip ? 1 : 0;
    case APPROX_SIGN: return max<f32>(0, <f32>2 - <f32>2 * abs(x));
    case NEG: return -1;
    case ABS: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case SQUARE: return 2 * x;
    case SQRT: return <f32>0.5 / sqrt(x);
    case EXP: return Mathf.exp(x);
    default: return <f32>1 / x;
  }
}

export function float_unaryBackward(op: i32, n: i32, x: usize, dy: usize, dx: usize, accumulate: i32, clip: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (op != EXP) {
      const zero = f32x4.splat(0), one = f32x4.splat(1), minusOne = f32x4.splat(-1);
      const clipV = f32x4.splat(clip);
      const two = f32x4.splat(2), half = f32x4.splat(0.5);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i * 4;
        const v = v128.load(x + o);
        let d: v128;
        switch (op) {
          case RELU: d = v128.and(f32x4.gt(v, zero), one); break;
          case HARDTANH: d = v128.and(f32x4.le(f32x4.abs(v), one), one); break;
          case SIGN: d = v128.and(f32x4.le(f32x4.abs(v), clipV), one); break;
          case APPROX_SIGN: d = f32x4.max(zero, f32x4.sub(two, f32x4.mul(two, f32x4.abs(v)))); break;
          case NEG: d = minusOne; break;
          case ABS: d = v128.or(v128.and(f32x4.gt(v, zero), one), v128.and(f32x4.lt(v, zero), minusOne)); break;
          case SQUARE: d = f32x4.mul(two, v); break;
          case SQRT: d = f32x4.div(half, f32x4.sqrt(v)); break;
          default: d = f32x4.div(one, v);
        }
        let g = f32x4.mul(v128.load(dy + o), d);
        if (accumulate) g = f32x4.add(v128.load(dx + o), g);
        v128.store(dx + o, g);
      }
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const g = load<f32>(dy + o) * derivative1(op, load<f32>(x + o), clip);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

export function float_axpy(n: i32, alpha: f32, x: usize, y: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const av = f32x4.splat(alpha);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i * 4;
      v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, v128.load(x + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

export function float_fill(n: i32, value: f32, out: usize): void {
  fillF32(out, value, n);
}

export function float_copy(n: i32, x: usize, out: usize): void {
  if (x == out) return;
  // memory.copy handles overlap; the vector loop is faster for short runs.
  if (n >= 1024) memory.copy(out, x, <usize>n * 4);
  else copyF32(out, x, n);
}

/**
 * out[i] = f32(f64(x[i]) * scale + offset) for n raw inputs x, uint8 (bytes = 1) or
 * float32 (bytes = 4): input normalization with one scale and offset, evaluated in
 * float64 and rounded once, as the data pipeline and the engine's TypeScript path do
 * (no fused multiply-add: the product is rounded to float64 first).
 */
export function float_normalize(n: i32, x: usize, bytes: i32, scale: f64, offset: f64, out: usize): void {
  if (bytes == 1) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(<f64>load<u8>(x + <usize>i) * scale + offset));
  } else {
    for (let i = 0; i < n; i++) {
      store<f32>(out + (<usize>i << 2), <f32>(<f64>load<f32>(x + (<usize>i << 2)) * scale + offset));
    }
  }
}
