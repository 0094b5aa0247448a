import { describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/index.js";
import { createContext } from "../../src/tensor/index.js";
import { adam, bop, type Param, sgd } from "../../src/train/optimizers.js";
import { makeSchedule } from "../../src/train/schedules.js";
import { train } from "../../src/train/trainer.js";

describe("optimizers clip binary latent weights", () => {
  for (const make of [adam, sgd]) {
    it(`${make.name}: clip = 1 keeps weights in [-1, 1]; clip = 0 does not`, async () => {
      const ctx = await createContext("ref");
      const w0 = [0.9, -0.9, 0.1, 0];
      const clipped = ctx.parameter(ctx.fromArray(w0));
      const free = ctx.parameter(ctx.fromArray(w0));
      const params: Param[] = [
        { name: "a", tensor: clipped, clip: 1, binary: true },
        { name: "b", tensor: free, clip: 0, binary: false },
      ];
      for (const p of params) p.tensor.grad = ctx.keep(ctx.fromArray([-100, 100, -100, 100]));
      const opt = make(ctx, params);
      for (let i = 0; i < 5; i++) opt.step(0.5);
      expect([...clipped.data]).toEqual([1, -1, 1, -1]);
      expect(Math.max(...free.data.map(Math.abs))).toBeGreaterThan(1);
      expect([...opt.stateTensors().keys()].every((k) => k.startsWith("optimizer."))).toBe(true);
    });
  }
});

describe("Bop", () => {
  it("keeps binary weights at +/-1 and flips where |m| > tau and sign(m) = sign(w)", async () => {
    const ctx = await createContext("ref");
    const w = ctx.parameter(ctx.fromArray([0.3, -0.2, 0, -0.7]));
    const f = ctx.parameter(ctx.fromArray([0.5]));
    const opt = bop(
      ctx,
      [
        { name: "w", tensor: w, clip: 1, binary: true },
        { name: "f", tensor: f, clip: 0, binary: false },
      ],
      { gamma: 0.5, threshold: 0.4 },
    );
    expect([...w.data]).toEqual([1, -1, 1, -1]);
    // m = 0.5 g = [1, -1, -1, 0.1]: flips w0 (m > tau, same sign), w1 (same sign); not w2
    // (opposite sign) nor w3 (|m| <= tau).
    w.grad = ctx.keep(ctx.fromArray([2, -2, -2, 0.2]));
    f.grad = ctx.keep(ctx.fromArray([1]));
    opt.step(0.1);
    expect([...w.data]).toEqual([-1, 1, 1, -1]);
    expect(f.data[0]).toBeCloseTo(0.4, 5); // Adam's first step moves by lr
    expect([...opt.stateTensors().keys()]).toEqual(["optimizer.bop.w", "optimizer.m.f", "optimizer.v.f"]);
  });

  it("trains a binary MLP above chance", async () => {
    const data = await loadDataset("mnist", { limitTrain: 1000, limitTest: 500 });
    const ctx = await createContext("wasm");
    const r = await train({
      ctx,
      data,
      config: {
        model: { builder: "bnn-mlp", options: { width: 64 } },
        epochs: 2,
        batchSize: 50,
        lr: 1e-2,
        optimizer: "bop",
      },
      progress: "quiet",
    });
    expect(r.testAccuracy).toBeGreaterThan(0.5);
    for (const p of r.model.params().filter((q) => q.binary)) {
      expect(p.tensor.data.every((v) => v === 1 || v === -1)).toBe(true);
    }
  });
});

describe("learning-rate schedules", () => {
  it("exponential, step, cosine, constant", () => {
    expect(makeSchedule({ kind: "exponential", lr: 1, decay: 0.5 })(3)).toBe(0.125);
    const step = makeSchedule({ kind: "step", lr: 1, decay: 0.1, stepEpochs: 2 });
    expect([0, 1, 2, 3, 4].map(step)).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2]);
    const cos = makeSchedule({ kind: "cosine", lr: 1, epochs: 4 });
    expect(cos(0)).toBe(1);
    expect(cos(2)).toBeCloseTo(0.5, 12);
    expect(cos(4)).toBeCloseTo(0, 12);
    expect(makeSchedule({ kind: "constant", lr: 0.3 })(9)).toBe(0.3);
    expect(() => makeSchedule({ kind: "linear" as never, lr: 1 })).toThrow(/unknown schedule 'linear'/);
  });
});

describe("every builder trains", () => {
  it("one epoch on 1,000 MNIST images beats chance clearly, with finite losses", async () => {
    const data = await loadDataset("mnist", { limitTrain: 1000, limitTest: 500 });
    for (const builder of ["bnn-cnn", "xnor-cnn", "bwn-cnn"] as const) {
      const ctx = await createContext("wasm");
      const r = await train({
        ctx,
        data,
        config: {
          model: { builder, options: {} },
          epochs: 1,
          batchSize: 50,
          lr: 1e-2,
          loss: "squared-hinge",
        },
        progress: "quiet",
      });
      expect(Number.isFinite(r.history[0]!.trainLoss), builder).toBe(true);
      expect(r.history[0]!.trainAccuracy, builder).toBeGreaterThan(0.4);
      r.model.dispose();
    }
  });
});
