/**
 * Concatenation along one axis (BinaryDenseNet grows its features by concatenating
 * channels). Viewing each input x_i as [outer, len_i, inner] around the axis, the output is
 * [outer, sum_i len_i, inner] with x_i at offset off_i = len_0 + ... + len_{i-1}:
 *   forward   y[o, off_i + a, j] = x_i[o, a, j]
 *   backward  dx_i[o, a, j] += g[o, off_i + a, j]   (the gradient split back into pieces)
 * An input listed twice gets both pieces added.
 *
 *     const y = concat([x, branch]); // [N, H, W, C1] and [N, H, W, C2] -> [N, H, W, C1 + C2]
 */
import { formatShape, type Tensor } from "../tensor/tensor.js";
import { contextOf } from "./grad.js";

/**
 * Concatenates tensors along `axis` (default the last: channels), with its gradient split back
 * into the pieces.
 */
export function concat(xs: readonly Tensor[], axis = -1): Tensor {
  const first = xs[0];
  if (!first) throw new Error("concat: needs at least one tensor");
  const ctx = contextOf("concat", first, ...xs.slice(1));
  const rank = first.rank;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`concat: axis ${axis} is out of range for shape ${formatShape(first.shape)}`);
  }
  for (const x of xs) {
    if (x.rank !== rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(
        `concat: shapes ${xs.map((t) => formatShape(t.shape)).join(", ")} differ outside axis ${a}`,
      );
    }
  }
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= first.shape[i]!;
  for (let i = a + 1; i < rank; i++) inner *= first.shape[i]!;
  // Row lengths (len_i * inner) and row offsets (off_i * inner) of each input in the output.
  const widths = xs.map((x) => x.shape[a]! * inner);
  const offsets = widths.map((_, i) => widths.slice(0, i).reduce((s, w) => s + w, 0));
  const total = widths.reduce((s, w) => s + w, 0);

  const out = ctx.empty(first.shape.map((d, i) => (i === a ? total / inner : d)));
  const y = out.data;
  xs.forEach((x, i) => {
    const src = x.data;
    const w = widths[i]!;
    for (let o = 0; o < outer; o++) y.set(src.subarray(o * w, (o + 1) * w), o * total + offsets[i]!);
  });

  if (ctx.needsGrad(...xs)) {
    out.setBackward(xs, () => {
      const g = out.grad!;
      xs.forEach((x, i) => {
        if (!x.requiresGrad) return;
        const w = widths[i]!;
        const off = offsets[i]!;
        x.accumulateGrad((ptr, overwrite) => {
          const dx = ctx.heap.f32At(ptr, x.size);
          const gd = g.data;
          for (let o = 0; o < outer; o++) {
            const row = gd.subarray(o * total + off, o * total + off + w);
            if (overwrite) dx.set(row, o * w);
            else for (let j = 0; j < w; j++) dx[o * w + j]! += row[j]!;
          }
        });
      });
    });
  }
  return out;
}
