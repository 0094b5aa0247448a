/**
 * Epilogue programs of the affine binary convolution (BinaryKernels.conv2dAffine's
 * `epilogue`): per-channel elementwise float32 ops that run over each finished output row
 * in place, and optionally pack the signs of the result, so that the layers after a
 * residual block's conv (QuickNet: relu -> batch norm -> add; Bi-Real: batch norm -> add;
 * ReActNet: batch norm -> add -> shift -> prelu -> shift) and the next block's bitpack run
 * as the conv's epilogue instead of as separate passes over memory. Each op is the
 * engine layer's own float32 step, so the values are bit for bit those of the layers.
 *
 * Layout in the heap (written by `writeEpilogue`): int32 words [count, then per op: code,
 * a, b, c, d], the operands pointers (byte offsets) into the heap. Tensors an op reads or
 * writes (`add`'s other input, `pack`'s bits) are laid out as the conv's output for the
 * whole batch; the kernel offsets them by the pixels of the images it skips.
 * assembly/binary/epilogue.ts runs it; ref/epilogue.ts is the reference.
 */
import type { Heap } from "./heap.js";

export type EpilogueOp =
  /** v = max(v, 0) */
  | { op: "relu" }
  /** v = gamma * ((v - mean) * invStd) + beta, per channel */
  | { op: "batchnorm"; mean: number; invStd: number; gamma: number; beta: number }
  /** v = v + other[p, o] (other: float32, the conv output's layout) */
  | { op: "add"; other: number }
  /** v = v + bias[o] */
  | { op: "shift"; bias: number }
  /** v = v >= 0 ? v : alpha[o] * v */
  | { op: "prelu"; alpha: number }
  /**
   * bit (p, o) = fround(v - thresholds[o]) >= 0 (thresholds 0: v >= 0) into bits
   * [pixels, ceil(outC / 32)]; last op (the float values stay in the output too).
   */
  | { op: "pack"; bits: number; thresholds: number };

const CODES: Record<EpilogueOp["op"], number> = {
  relu: 1,
  batchnorm: 2,
  add: 3,
  shift: 4,
  prelu: 5,
  pack: 6,
};

/** Words of a program of `count` ops. */
export const epilogueWords = (count: number) => 1 + 5 * count;

/** The ops' five int32 words each (code, operands), in program order. */
function operands(op: EpilogueOp): [number, number, number, number, number] {
  const code = CODES[op.op];
  switch (op.op) {
    case "relu":
      return [code, 0, 0, 0, 0];
    case "batchnorm":
      return [code, op.mean, op.invStd, op.gamma, op.beta];
    case "add":
      return [code, op.other, 0, 0, 0];
    case "shift":
      return [code, op.bias, 0, 0, 0];
    case "prelu":
      return [code, op.alpha, 0, 0, 0];
    case "pack":
      return [code, op.bits, op.thresholds, 0, 0];
  }
}

/** Writes `ops` as a program at `ptr` (epilogueWords(ops.length) int32 words). */
export function writeEpilogue(heap: Heap, ptr: number, ops: readonly EpilogueOp[]): void {
  const packAt = ops.findIndex((o) => o.op === "pack");
  if (packAt >= 0 && packAt !== ops.length - 1) throw new RangeError("epilogue: 'pack' must be the last op");
  const words = heap.i32At(ptr, epilogueWords(ops.length));
  words[0] = ops.length;
  for (const [i, op] of ops.entries()) words.set(operands(op), 1 + 5 * i);
}

/** Reads the program at `ptr` back into ops. */
export function readEpilogue(heap: Heap, ptr: number): EpilogueOp[] {
  const count = heap.i32At(ptr, 1)[0]!;
  const w = heap.i32At(ptr, epilogueWords(count));
  const ops: EpilogueOp[] = [];
  for (let i = 0; i < count; i++) {
    const [code, a, b, c, d] = [w[1 + 5 * i]!, w[2 + 5 * i]!, w[3 + 5 * i]!, w[4 + 5 * i]!, w[5 + 5 * i]!];
    const name = (Object.keys(CODES) as EpilogueOp["op"][]).find((k) => CODES[k] === code);
    if (name === "relu") ops.push({ op: "relu" });
    else if (name === "batchnorm") ops.push({ op: "batchnorm", mean: a, invStd: b, gamma: c, beta: d });
    else if (name === "add") ops.push({ op: "add", other: a });
    else if (name === "shift") ops.push({ op: "shift", bias: a });
    else if (name === "prelu") ops.push({ op: "prelu", alpha: a });
    else if (name === "pack") ops.push({ op: "pack", bits: a, thresholds: b });
    else throw new RangeError(`epilogue: unknown op code ${code} at op ${i}`);
  }
  return ops;
}
