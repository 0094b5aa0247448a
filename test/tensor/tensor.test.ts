import { describe, expect, it } from "vitest";
import {
  add,
  batchNorm,
  conv2d,
  dropout,
  flatten,
  matmul,
  maxPool2d,
  mean,
  mul,
  relu,
  softmaxCrossEntropy,
  squaredHinge,
  sub,
  sum,
} from "../../src/ops/index.js";
import { type Context, createContext, type Tensor } from "../../src/tensor/index.js";
import { Random } from "../../src/util/random.js";

describe("Tensor and Context", () => {
  it("creates tensors from factories and copies data out", async () => {
    const ctx = await createContext("ref");
    const t = ctx.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(ctx.full([2], 7).data)).toEqual([7, 7]);
    expect(ctx.scalar(3).shape).toEqual([]);
    expect(ctx.scalar(3).item()).toBe(3);
    const a = ctx.randn([100], new Random(5)).toArray();
    expect(Array.from(ctx.randn([100], new Random(5)).data)).toEqual(Array.from(a));
    expect(() => ctx.fromArray([1, 2, 3], [2, 2])).toThrowErrorMatchingInlineSnapshot(
      `[RangeError: fromArray: 3 values do not fill shape [2,2]]`,
    );
  });

  it("tidy disposes what was created inside, except the result and kept tensors", async () => {
    const ctx = await createContext("ref");
    const before = ctx.heap.liveBlocks;
    let inner: Tensor | null = null;
    let kept: Tensor | null = null;
    const result = ctx.tidy(() => {
      inner = ctx.ones([4]);
      kept = ctx.keep(ctx.zeros([2]));
      const nested = ctx.tidy(() => {
        ctx.ones([8]);
        return { out: add(inner!, 1) };
      });
      return [nested.out];
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept!.isDisposed).toBe(false);
    expect(Array.from(result[0]!.data)).toEqual([2, 2, 2, 2]);
    expect(ctx.heap.liveBlocks).toBe(before + 2);
    result[0]!.dispose();
    kept!.dispose();
    expect(ctx.heap.liveBlocks).toBe(before);
    expect(() => inner!.data).toThrow(/used after dispose/);
  });

  it("tidy disposes its tensors when the function throws", async () => {
    const ctx = await createContext("ref");
    const before = ctx.heap.liveBlocks;
    expect(() =>
      ctx.tidy(() => {
        ctx.ones([3]);
        matmul(ctx.ones([2, 3]), ctx.ones([2, 3]));
      }),
    ).toThrowErrorMatchingInlineSnapshot(
      `[Error: matmul: inner dimensions differ: a [2,3] and b [2,3] (3 != 2)]`,
    );
    expect(ctx.heap.liveBlocks).toBe(before);
  });

  it("tidy refuses an async function and frees what it made", async () => {
    const ctx = await createContext("ref");
    const before = ctx.heap.liveBlocks;
    expect(() =>
      ctx.tidy(async () => {
        ctx.ones([3]);
      }),
    ).toThrow(/returned a Promise/);
    expect(ctx.heap.liveBlocks).toBe(before);
  });

  it("derived ops and number operands leave only their result when no graph is recorded", async () => {
    const ctx = await createContext("ref");
    const x = ctx.fromArray([1, -2, 3, 0.5], [2, 2]);
    const t = ctx.fromArray([1, -1, -1, 1], [2, 2]);
    const stats = [ctx.zeros([2]), ctx.ones([2])] as const;
    const before = ctx.heap.liveBlocks;
    const results = [
      add(x, 1),
      sub(2, x),
      mean(x),
      mean(x, 0),
      squaredHinge(x, t),
      batchNorm(x, { runningMean: stats[0], runningVar: stats[1], training: false }),
    ];
    expect(ctx.heap.liveBlocks).toBe(before + results.length);
    for (const r of results) r.dispose();
    expect(ctx.heap.liveBlocks).toBe(before);
  });

  it("backward accumulates over every use of a tensor and over calls; zeroGrad resets", async () => {
    const ctx = await createContext("ref");
    const x = ctx.parameter(ctx.fromArray([1, -2, 3]));
    // y = sum(x*x + x) => dy/dx = 2x + 1
    const step = () =>
      ctx.tidy(() => {
        sum(add(mul(x, x), x)).backward();
      });
    step();
    expect(Array.from(x.grad!.data)).toEqual([3, -3, 7]);
    step();
    expect(Array.from(x.grad!.data)).toEqual([6, -6, 14]);
    x.zeroGrad();
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 0]);
    x.dispose();
  });

  it("frees intermediate grads unless retained, and records nothing under noGrad", async () => {
    const ctx = await createContext("ref");
    const x = ctx.parameter(ctx.fromArray([1, 2]));
    ctx.tidy(() => {
      const h = mul(x, 3);
      const k = mul(x, 2);
      k.retainGrad = true;
      sum(add(h, k)).backward();
      expect(h.grad).toBeNull();
      expect(Array.from(k.grad!.data)).toEqual([1, 1]);
      expect(Array.from(x.grad!.data)).toEqual([5, 5]);
      const y = ctx.noGrad(() => mul(x, 2));
      expect(y.requiresGrad).toBe(false);
      expect(y.isLeaf).toBe(true);
      expect(() => sum(ctx.ones([2])).backward()).not.toThrow();
    });
    x.dispose();
  });

  it("rejects non-scalar backward without a seed and mixing contexts", async () => {
    const a = await createContext("ref");
    const b = await createContext("ref");
    const t = a.parameter(a.ones([2]));
    expect(() => mul(t, 2).backward()).toThrowErrorMatchingInlineSnapshot(
      `[Error: backward: tensor [2] is not a scalar; pass a seed gradient]`,
    );
    expect(() => add(t, b.ones([2]))).toThrow(/different Contexts/);
  });
});

/** A small MLP: dense -> batchNorm -> relu -> dropout -> dense, softmax cross-entropy. */
function mlp(ctx: Context, rng: Random) {
  const param = (t: Tensor) => ctx.parameter(t);
  const p = {
    w1: param(ctx.randn([8, 16], rng, 0.3)),
    b1: param(ctx.zeros([16])),
    gamma: param(ctx.ones([16])),
    beta: param(ctx.zeros([16])),
    w2: param(ctx.randn([16, 3], rng, 0.3)),
    b2: param(ctx.zeros([3])),
  };
  const runningMean = ctx.keep(ctx.zeros([16]));
  const runningVar = ctx.keep(ctx.ones([16]));
  const forward = (x: Tensor, training: boolean, dropRng: Random) => {
    const h = batchNorm(add(matmul(x, p.w1), p.b1), {
      gamma: p.gamma,
      beta: p.beta,
      runningMean,
      runningVar,
      training,
    });
    return add(matmul(dropout(relu(h), 0.1, { training, rng: dropRng }), p.w2), p.b2);
  };
  return { params: Object.values(p), forward, state: [runningMean, runningVar] };
}

/** A small CNN: conv (pad -1) -> batchNorm -> relu -> maxPool -> flatten -> dense, on a leaf input with grad. */
function cnn(ctx: Context, rng: Random) {
  const p = {
    w: ctx.parameter(ctx.randn([4, 3, 3, 2], rng, 0.3)),
    b: ctx.parameter(ctx.zeros([4])),
    beta: ctx.parameter(ctx.zeros([4])),
    w2: ctx.parameter(ctx.randn([36, 3], rng, 0.3)),
  };
  const runningMean = ctx.keep(ctx.zeros([4]));
  const runningVar = ctx.keep(ctx.ones([4]));
  const forward = (x: Tensor, training: boolean) => {
    const h = conv2d(x, p.w, { bias: p.b, padding: "same", padValue: -1 });
    const n = batchNorm(h, { beta: p.beta, runningMean, runningVar, training });
    return matmul(flatten(maxPool2d(relu(n), { size: 2 })), p.w2);
  };
  return { params: Object.values(p), forward, state: [runningMean, runningVar] };
}

describe.each(["ref", "wasm"] as const)("training step memory (%s)", (kind) => {
  it("a CNN step on an input that requires grad leaves the heap as step 1 left it", async () => {
    const ctx = await createContext(kind);
    const rng = new Random(4);
    const model = cnn(ctx, rng);
    const x = ctx.parameter(ctx.randn([5, 6, 6, 2], rng));
    const labels = [0, 1, 2, 1, 0];
    const marks: number[][] = [];
    for (let i = 0; i < 5; i++) {
      ctx.tidy(() => softmaxCrossEntropy(model.forward(x, true), labels).backward());
      for (const p of [...model.params, x]) p.zeroGrad();
      marks.push([ctx.heap.inUse, ctx.heap.reserved, ctx.heap.liveBlocks]);
    }
    expect(marks[4]).toEqual(marks[0]);
  });

  it("leaves heap.inUse and heap.reserved identical after step 1 and step 5", async () => {
    const ctx = await createContext(kind);
    const rng = new Random(3);
    const model = mlp(ctx, rng);
    const x = ctx.keep(ctx.randn([32, 8], rng));
    const labels = Array.from({ length: 32 }, () => rng.int(3));
    const step = () => {
      const loss = ctx.tidy(() => {
        const l = softmaxCrossEntropy(model.forward(x, true, rng), labels);
        l.backward();
        return l.item();
      });
      ctx.noGrad(() => {
        for (const p of model.params) {
          ctx.float.axpy(p.size, -0.1, p.grad!.ptr, p.ptr);
          p.zeroGrad();
        }
      });
      return { loss, inUse: ctx.heap.inUse, reserved: ctx.heap.reserved, blocks: ctx.heap.liveBlocks };
    };
    const first = step();
    let last = first;
    for (let i = 0; i < 4; i++) last = step();
    expect(last.inUse).toBe(first.inUse);
    expect(last.reserved).toBe(first.reserved);
    expect(last.blocks).toBe(first.blocks);
    expect(last.loss).toBeLessThan(first.loss);
  });
});
