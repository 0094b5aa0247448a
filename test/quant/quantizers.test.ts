import { describe, expect, it } from "vitest";
import {
  approxSign,
  channelMeanAbs,
  dorefa,
  getQuantizer,
  magnitudeAwareSign,
  type Quantizer,
  quantizerSpec,
  sign,
  steSign,
  stochasticSign,
} from "../../src/quant/quantizers.js";
import { Random } from "../../src/util/random.js";

const f32 = (a: number[]) => new Float32Array(a);
const ctx = { channels: 1, training: true };

function fwd(q: Quantizer, x: number[], c = ctx): number[] {
  const out = new Float32Array(x.length);
  q.forward(f32(x), out, c);
  return [...out];
}
function bwd(q: Quantizer, x: number[], dy: number[], c = ctx): number[] {
  const dx = new Float32Array(x.length);
  q.backward(f32(x), f32(dy), dx, c);
  return [...dx];
}

// Exact zeros, values at +/-1, inside and beyond the clip.
const xs = [-2, -1.5, -1, -0.5, -0, 0, 0.25, 0.5, 1, 1.25, 3];
const dy = xs.map((_, i) => i + 1);

describe("sign (STE)", () => {
  it("forward is sign with sign(0) = +1, even for -0", () => {
    expect(fwd(sign, xs)).toEqual([-1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1]);
  });
  it("backward passes dy where |x| <= 1, zero beyond", () => {
    expect(bwd(sign, xs, dy)).toEqual(xs.map((x, i) => (Math.abs(x) <= 1 ? dy[i]! : 0)));
  });
  it("backward accumulates into dx", () => {
    const dx = f32([10, 10]);
    sign.backward(f32([0, 2]), f32([1, 1]), dx, ctx);
    expect([...dx]).toEqual([11, 10]);
  });
});

describe("steSign(clipValue) (QuickNet: 1.25)", () => {
  // float32 neighbours of 1.25 (one ulp is 2^-23 in [1, 2)).
  const below = 1.25 - 2 ** -23;
  const above = 1.25 + 2 ** -23;
  const at = [0, -0, 1.25, -1.25, below, -below, above, -above, 1, -1, 2, -3];
  const g = at.map((_, i) => i + 1);
  const q = steSign(1.25);
  it("forward is sign with sign(0) = +1", () => {
    expect(fwd(q, at)).toEqual([1, 1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1]);
  });
  it("backward passes dy where |x| <= 1.25, zero beyond", () => {
    expect(bwd(q, at, g)).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 9, 10, 0, 0]);
  });
  it("compares with the clip rounded to float32, as TensorFlow does", () => {
    const x = Math.fround(1.1);
    expect(x).toBeGreaterThan(1.1);
    expect(bwd(steSign(1.1), [x, -x], [1, 1])).toEqual([1, 1]);
  });
  it("clipValue 1 is sign itself; its spec stays { name: 'ste_sign' }", () => {
    expect(steSign()).toBe(sign);
    expect(steSign(1)).toBe(sign);
    expect(quantizerSpec(steSign(1))).toEqual({ name: "ste_sign" });
    expect(getQuantizer({ name: "ste_sign" })).toBe(sign);
    expect(getQuantizer({ name: "ste_sign", options: { clipValue: 1 } })).toBe(sign);
  });
  it("its spec stores the clip value and rebuilds the same pseudo-gradient", () => {
    expect(quantizerSpec(q)).toEqual({ name: "ste_sign", options: { clipValue: 1.25 } });
    const r = getQuantizer(JSON.parse(JSON.stringify(quantizerSpec(q))));
    expect(r.bits).toBe(1);
    expect(bwd(r, at, g)).toEqual(bwd(q, at, g));
    expect(bwd(getQuantizer({ name: "sign", options: { clipValue: 1.25 } }), at, g)).toEqual(bwd(q, at, g));
  });
  it("rejects a clip value that is not a positive number", () => {
    for (const c of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => steSign(c)).toThrow(/clipValue/);
  });
});

describe("approxSign (Bi-Real)", () => {
  it("forward equals sign", () => expect(fwd(approxSign, xs)).toEqual(fwd(sign, xs)));
  it("backward is dy * max(0, 2 - 2|x|)", () => {
    const want = xs.map((x, i) => Math.fround(dy[i]! * Math.max(0, 2 - 2 * Math.abs(x))));
    expect(bwd(approxSign, xs, dy)).toEqual(want);
    expect(bwd(approxSign, [0, 1, -1, 0.5], [1, 1, 1, 1])).toEqual([2, 0, 0, 1]);
  });
});

describe("stochasticSign", () => {
  it("is deterministic sign in eval mode", () => {
    expect(fwd(stochasticSign, xs, { channels: 1, training: false })).toEqual(fwd(sign, xs));
  });
  it("samples +1 with probability clip((x+1)/2, 0, 1) from the seeded rng", () => {
    const n = 20000;
    for (const x of [-1.5, -0.5, 0, 0.6, 2]) {
      const out = fwd(stochasticSign, new Array(n).fill(x), {
        channels: 1,
        training: true,
        rng: new Random(7),
      } as never);
      const p = out.filter((v) => v === 1).length / n;
      const want = Math.min(1, Math.max(0, (x + 1) / 2));
      expect(Math.abs(p - want)).toBeLessThan(0.015);
      expect(out.every((v) => v === 1 || v === -1)).toBe(true);
    }
  });
  it("same seed, same samples", () => {
    const a = fwd(stochasticSign, xs, { channels: 1, training: true, rng: new Random(3) } as never);
    const b = fwd(stochasticSign, xs, { channels: 1, training: true, rng: new Random(3) } as never);
    expect(a).toEqual(b);
  });
  it("needs an rng in training", () => {
    expect(() => fwd(stochasticSign, [0])).toThrow(/rng/);
  });
  it("backward is the STE", () => expect(bwd(stochasticSign, xs, dy)).toEqual(bwd(sign, xs, dy)));
});

describe("magnitudeAwareSign (XNOR-Net weights)", () => {
  // Two output channels of n = 3 weights each.
  const w = [0.5, -0.25, 0, -2, 1, 0.5];
  const c2 = { channels: 2, training: true };
  it("alpha = mean |W| per output channel (hand-computed)", () => {
    expect([...channelMeanAbs(f32(w), 2)]).toEqual([0.25, Math.fround(3.5 / 3)]);
  });
  it("forward is alpha * sign(W)", () => {
    const a1 = Math.fround(3.5 / 3);
    expect(fwd(magnitudeAwareSign, w, c2)).toEqual([0.25, -0.25, 0.25, -a1, a1, a1]);
  });
  it("backward is dy * (1/n + alpha * 1{|W| <= 1})", () => {
    const a1 = 3.5 / 3;
    const want = [1 / 3 + 0.25, 1 / 3 + 0.25, 1 / 3 + 0.25, 1 / 3, 1 / 3 + a1, 1 / 3 + a1].map((v, i) =>
      Math.fround(v * (i + 1)),
    );
    const got = bwd(magnitudeAwareSign, w, [1, 2, 3, 4, 5, 6], c2);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });
  it("rejects a channel count that does not divide the kernel", () => {
    expect(() => fwd(magnitudeAwareSign, w, { channels: 4, training: true })).toThrow(/4 channels/);
  });
});

describe("dorefa(k)", () => {
  it("k = 1 equals sign", () => expect(fwd(dorefa(1), xs)).toEqual(fwd(sign, xs)));
  it("k = 2 has 4 levels on [-1, 1]", () => {
    expect(fwd(dorefa(2), [-3, -1, -0.5, -0.3, 0, 0.3, 0.5, 1, 5])).toEqual(
      [-1, -1, -1 / 3, -1 / 3, 1 / 3, 1 / 3, 1 / 3, 1, 1].map(Math.fround),
    );
    expect(dorefa(2).bits).toBe(2);
  });
  it("k = 8 is within half a step of the clipped input", () => {
    const out = fwd(dorefa(8), xs);
    for (let i = 0; i < xs.length; i++) {
      expect(Math.abs(out[i]! - Math.max(-1, Math.min(1, xs[i]!)))).toBeLessThanOrEqual(1 / 255 + 1e-6);
    }
  });
  it("k = 32 is the identity, gradient 1", () => {
    expect(fwd(dorefa(32), xs)).toEqual(xs);
    expect(bwd(dorefa(32), xs, dy)).toEqual(dy);
  });
  it("backward is the STE", () => expect(bwd(dorefa(4), xs, dy)).toEqual(bwd(sign, xs, dy)));
  it("rejects bad k", () => expect(() => dorefa(0)).toThrow(/1\.\.32/));
});

describe("registry", () => {
  it("round-trips names and options", () => {
    for (const q of [sign, stochasticSign, approxSign, magnitudeAwareSign, dorefa(3)]) {
      const r = getQuantizer(quantizerSpec(q));
      expect(r.name).toBe(q.name);
      expect(r.bits).toBe(q.bits);
    }
    expect(getQuantizer("sign")).toBe(sign);
    expect(() => getQuantizer("nope")).toThrow(/unknown quantizer 'nope'/);
  });
});

describe("kernel fast path", () => {
  it("the sign kernel's forward and STE backward, at any clip, equal the array code (ref and wasm)", async () => {
    const { createContext } = await import("../../src/tensor/index.js");
    const { quantize } = await import("../../src/quant/op.js");
    const { mul, sum } = await import("../../src/ops/index.js");
    const plain: Quantizer = { ...sign, kernelOp: undefined };
    for (const kind of ["ref", "wasm"] as const) {
      const c = await createContext(kind);
      const run = (q: Quantizer) => {
        const x = c.parameter(c.fromArray(xs));
        const y = quantize(q, x, ctx);
        sum(mul(y, c.fromArray(dy))).backward();
        return [y.toArray(), x.grad!.toArray()];
      };
      expect(run(sign)).toEqual(run(plain));
      expect([...run(sign)[1]!]).toEqual(bwd(sign, xs, dy));
      // A clip other than 1 runs in the same kernel, with the clip passed to it.
      for (const clip of [1.25, 0.5, 1.1]) {
        const q = steSign(clip);
        expect(q.kernelOp).toBe("sign");
        expect(run(q)).toEqual(run({ ...q, kernelOp: undefined }));
        expect([...run(q)[1]!]).toEqual(bwd(q, xs, dy));
      }
    }
  });
});
