/**
 * The epilogue programs of the affine binary conv (kernels/epilogue.ts) in plain
 * TypeScript, op by op over the whole output: each op rounds to float32 as the engine
 * layer it stands for (relu: max(v, 0); batch norm: fround(gamma * fround(fround(v - mean)
 * * invStd)) + beta; add, shift: one rounded sum; prelu: v >= 0 ? v : fround(alpha * v);
 * pack: fround(v - t) >= 0).
 */
import { signBit, wordsPerPixel } from "../bits.js";
import { readEpilogue } from "../epilogue.js";
import type { Heap } from "../heap.js";

const f = Math.fround;

/** Runs the program at `prog` over float32 out [pixels, c] in place. */
export function refEpilogue(heap: Heap, prog: number, pixels: number, c: number, out: number): void {
  const Y = heap.f32At(out, pixels * c);
  const ch = (ptr: number) => heap.f32At(ptr, c);
  for (const op of readEpilogue(heap, prog)) {
    if (op.op === "relu") {
      for (let i = 0; i < Y.length; i++) Y[i] = Math.max(Y[i]!, 0) + 0;
    } else if (op.op === "batchnorm") {
      const [m, s, g, b] = [ch(op.mean), ch(op.invStd), ch(op.gamma), ch(op.beta)];
      for (let i = 0; i < Y.length; i++) {
        const j = i % c;
        Y[i] = f(g[j]! * f(f(Y[i]! - m[j]!) * s[j]!)) + b[j]!;
      }
    } else if (op.op === "add") {
      const O = heap.f32At(op.other, pixels * c);
      for (let i = 0; i < Y.length; i++) Y[i] = Y[i]! + O[i]!;
    } else if (op.op === "shift") {
      const b = ch(op.bias);
      for (let i = 0; i < Y.length; i++) Y[i] = Y[i]! + b[i % c]!;
    } else if (op.op === "prelu") {
      const a = ch(op.alpha);
      for (let i = 0; i < Y.length; i++) {
        const v = Y[i]!;
        Y[i] = v >= 0 ? v : a[i % c]! * v;
      }
    } else {
      const words = wordsPerPixel(c);
      const B = heap.u32At(op.bits, pixels * words);
      const t = op.thresholds ? ch(op.thresholds) : null;
      B.fill(0);
      for (let p = 0; p < pixels; p++) {
        for (let j = 0; j < c; j++) {
          const v = t ? f(Y[p * c + j]! - t[j]!) : Y[p * c + j]!;
          B[p * words + (j >>> 5)]! |= signBit(v) << (j & 31);
        }
      }
    }
  }
}
