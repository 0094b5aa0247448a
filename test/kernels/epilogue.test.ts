/**
 * The affine binary conv's epilogue programs (kernels/epilogue.ts): ref, wasm-simd and
 * wasm-scalar agree bit for bit, and each equals the conv without an epilogue followed by
 * the ops computed here one by one in float32 (the engine layers' roundings), with the
 * packed signs those of the final floats (or of fround(v - t) for thresholds).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { bconv2dThresholdScratchWords, type PadValue } from "../../src/kernels/binaryTypes.js";
import { packSigns, wordsPerPixel } from "../../src/kernels/bits.js";
import { type EpilogueOp, epilogueWords, readEpilogue, writeEpilogue } from "../../src/kernels/epilogue.js";
import { convGeometry, type Padding } from "../../src/kernels/geometry.js";
import { type Backend, createBackend } from "../../src/kernels/index.js";
import { Random } from "../../src/util/random.js";

let backends: Backend[] = [];

beforeAll(async () => {
  backends = [
    await createBackend("ref"),
    await createBackend("wasm-simd"),
    await createBackend("wasm-scalar"),
  ];
});

const f = Math.fround;

function put(b: Backend, data: Float32Array | Uint32Array): number {
  const ptr = b.heap.alloc(data.byteLength);
  b.heap.u8().fill(0xa5, ptr, ptr + data.byteLength + 64);
  new Uint8Array(b.heap.memory.buffer, ptr, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return ptr;
}

type Program = (
  | { op: "relu" }
  | { op: "batchnorm"; mean: Float32Array; invStd: Float32Array; gamma: Float32Array; beta: Float32Array }
  | { op: "add"; other: Float32Array }
  | { op: "shift"; bias: Float32Array }
  | { op: "prelu"; alpha: Float32Array }
  | { op: "pack"; thresholds?: Float32Array }
)[];

/** The program's floats and bits, op by op, from the conv's affine output z. */
function expected(z: Float32Array, c: number, prog: Program): { floats: Float32Array; bits?: Uint32Array } {
  const y = z.slice();
  let bits: Uint32Array | undefined;
  for (const op of prog) {
    for (let i = 0; i < y.length; i++) {
      const j = i % c;
      const v = y[i]!;
      if (op.op === "relu") y[i] = Math.max(v, 0);
      else if (op.op === "batchnorm")
        y[i] = f(op.gamma[j]! * f(f(v - op.mean[j]!) * op.invStd[j]!)) + op.beta[j]!;
      else if (op.op === "add") y[i] = v + op.other[i]!;
      else if (op.op === "shift") y[i] = v + op.bias[j]!;
      else if (op.op === "prelu") y[i] = v >= 0 ? v : f(op.alpha[j]! * v);
    }
    if (op.op === "pack") {
      const t = op.thresholds;
      const s = Float32Array.from(y, (v, i) => (t ? f(v - t[i % c]!) : v));
      bits = packSigns(s, y.length / c, c);
    }
  }
  return { floats: y, bits };
}

const floats = (rng: Random, n: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + rng.next() * (hi - lo));

describe("conv2dAffine with an epilogue", () => {
  it("writes and reads programs; pack must come last", async () => {
    const b = backends[0]!;
    const ops: EpilogueOp[] = [
      { op: "relu" },
      { op: "batchnorm", mean: 64, invStd: 128, gamma: 192, beta: 256 },
      { op: "add", other: 320 },
      { op: "pack", bits: 384, thresholds: 0 },
    ];
    const p = b.heap.alloc(epilogueWords(ops.length) * 4);
    writeEpilogue(b.heap, p, ops);
    expect(readEpilogue(b.heap, p)).toEqual(ops);
    expect(() => writeEpilogue(b.heap, p, [ops[3]!, ops[0]!])).toThrow(/last op/);
  });

  it("equals the conv then the ops one by one, on every backend (QuickNet, Bi-Real, ReActNet programs)", () => {
    const rng = new Random(5);
    let cases = 0;
    // c, k, stride, outC, size, padding, pad value: the tiles (64, 128 channels over the
    // padded copy), the 3x3 triples (256), stride 2, odd channel counts, a 5x5 window.
    const grid: [number, number, number, number, number, Padding, PadValue][] = [
      [64, 3, 1, 64, 9, "same", 1],
      [128, 3, 1, 128, 6, "same", 0],
      [256, 3, 1, 40, 5, "same", 1],
      [64, 3, 2, 128, 9, "same", 0],
      [33, 3, 1, 37, 7, "same", -1],
      [32, 5, 1, 70, 6, "valid", 1],
    ];
    for (const [c, k, stride, outC, size, padding, padValue] of grid) {
      const n = 2;
      const g = convGeometry(n, size, size + 1, c, k, k, stride, stride, padding);
      const pixels = n * g.outH * g.outW;
      const X = packSigns(floats(rng, n * size * (size + 1) * c, -1, 1), n * size * (size + 1), c);
      const W = packSigns(floats(rng, outC * k * k * c, -1, 1), outC * k * k, c);
      const scale = floats(rng, outC, -0.2, 0.3);
      const bias = floats(rng, outC, -2, 2);
      const ch = (lo: number, hi: number) => floats(rng, outC, lo, hi);
      const bn = {
        op: "batchnorm" as const,
        mean: ch(-1, 1),
        invStd: ch(0.2, 3),
        gamma: ch(-1.5, 1.5),
        beta: ch(-1, 1),
      };
      const other = floats(rng, pixels * outC, -3, 3);
      const programs: Record<string, Program> = {
        quicknet: [{ op: "relu" }, bn, { op: "add", other }, { op: "pack" }],
        bireal: [bn, { op: "add", other }, { op: "pack" }],
        reactnet: [
          bn,
          { op: "add", other },
          { op: "shift", bias: ch(-0.5, 0.5) },
          { op: "prelu", alpha: ch(-0.5, 1) },
          { op: "shift", bias: ch(-0.5, 0.5) },
          { op: "pack", thresholds: ch(-0.5, 0.5) },
        ],
        floatsOnly: [bn, { op: "add", other }],
        // Outside the engine's order (relu, batch norm, add, shift, prelu, shift, pack):
        // the SIMD build runs it op by op instead of in one pass.
        otherOrder: [{ op: "add", other }, { op: "relu" }, bn, { op: "pack" }],
      };
      for (const [name, prog] of Object.entries(programs)) {
        const words = wordsPerPixel(outC);
        const results = backends.map((b) => {
          const heap = b.heap;
          const [x, w, s, bi] = [put(b, X), put(b, W), put(b, scale), put(b, bias)];
          const scratchWords = bconv2dThresholdScratchWords(g, outC);
          const scratch = scratchWords ? heap.alloc(scratchWords * 4) : 0;
          const plain = heap.alloc(pixels * outC * 4);
          b.binary.conv2dAffine(g, padValue, outC, x, w, s, bi, plain, scratch);
          const z = heap.f32At(plain, pixels * outC).slice();
          const out = heap.alloc(pixels * outC * 4);
          const bits = put(b, new Uint32Array(pixels * words).fill(0xdeadbeef));
          const ops: EpilogueOp[] = prog.map((op) => {
            if (op.op === "batchnorm")
              return {
                ...op,
                mean: put(b, op.mean),
                invStd: put(b, op.invStd),
                gamma: put(b, op.gamma),
                beta: put(b, op.beta),
              };
            if (op.op === "add") return { op: "add", other: put(b, op.other) };
            if (op.op === "shift") return { op: "shift", bias: put(b, op.bias) };
            if (op.op === "prelu") return { op: "prelu", alpha: put(b, op.alpha) };
            if (op.op === "pack")
              return { op: "pack", bits, thresholds: op.thresholds ? put(b, op.thresholds) : 0 };
            return op;
          });
          const progPtr = heap.alloc(epilogueWords(ops.length) * 4);
          writeEpilogue(heap, progPtr, ops);
          b.binary.conv2dAffine(g, padValue, outC, x, w, s, bi, out, scratch, progPtr);
          return {
            z,
            floats: heap.f32At(out, pixels * outC).slice(),
            bits: heap.u32At(bits, pixels * words).slice(),
          };
        });
        const label = `${name} c=${c} k=${k} s=${stride} outC=${outC} ${padding} pad=${padValue}`;
        const want = expected(results[0]!.z, outC, prog);
        for (const [i, r] of results.entries()) {
          expect(r.z, `${label} backend ${i}: the plain conv`).toEqual(results[0]!.z);
          const got = new Uint32Array(r.floats.buffer);
          const wantBits = new Uint32Array(want.floats.buffer);
          expect(
            got.findIndex((v, j) => v !== wantBits[j]),
            `${label} backend ${i}: floats`,
          ).toBe(-1);
          if (want.bits) expect(r.bits, `${label} backend ${i}: bits`).toEqual(want.bits);
          else
            expect(
              r.bits.every((v) => v === 0xdeadbeef),
              `${label}: no pack, no bits written`,
            ).toBe(true);
        }
        cases++;
      }
    }
    expect(cases).toBe(grid.length * 5);
  });
});
