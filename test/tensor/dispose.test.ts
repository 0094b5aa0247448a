/** Use after dispose: a Tensor or a Context throws DisposedError, never reads freed memory. */
import { describe, expect, it } from "vitest";
import { DisposedError, OnebitError } from "../../src/errors.js";
import { add, matmul } from "../../src/ops/index.js";
import { createContext } from "../../src/tensor/index.js";

const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
};

describe("use after dispose", () => {
  it("a disposed Tensor throws DisposedError naming it", async () => {
    const ctx = await createContext("ref");
    const t = ctx.fromArray([1, 2, 3, 4], [2, 2]);
    t.dispose();
    for (const use of [() => t.data, () => t.toArray(), () => add(t, 1), () => t.ptr]) {
      const e = caught(use);
      expect(e).toBeInstanceOf(DisposedError);
      expect(e).toBeInstanceOf(OnebitError);
      expect((e as DisposedError).object).toBe("Tensor [2,2]");
      expect((e as Error).message).toMatch(
        /Tensor \[2,2\] was disposed; it cannot be used after dispose\(\)/,
      );
    }
  });

  it("an input disposed before backward is a DisposedError", async () => {
    const ctx = await createContext("ref");
    const w = ctx.parameter(ctx.fromArray([1, 2, 3, 4], [2, 2]));
    const x = ctx.fromArray([1, 1], [1, 2]);
    const y = matmul(x, w);
    x.dispose();
    const e = caught(() => y.backward(ctx.ones([1, 2])));
    expect(e).toBeInstanceOf(DisposedError);
    expect((e as Error).message).toMatch(
      /^backward: an input of the graph: this Tensor \[1,2\] was disposed/,
    );
  });

  it("a disposed Context refuses factories, scopes and its tensors; dispose is idempotent", async () => {
    const ctx = await createContext("wasm", { threads: 2 });
    const t = ctx.fromArray([1, 2], [2]);
    ctx.dispose();
    ctx.dispose();
    expect(ctx.isDisposed).toBe(true);
    const uses: [() => unknown, RegExp][] = [
      [() => ctx.zeros([2]), /^Context: creating a tensor: this Context was disposed/],
      [() => ctx.fromArray([1], [1]), /this Context was disposed/],
      [() => ctx.tidy(() => 1), /^Context.tidy: this Context was disposed/],
      [() => ctx.noGrad(() => 1), /^Context.noGrad: this Context was disposed/],
      [() => t.toArray(), /^Tensor \[2\]: this Context was disposed/],
    ];
    for (const [use, message] of uses) {
      const e = caught(use);
      expect(e).toBeInstanceOf(DisposedError);
      expect((e as DisposedError).object).toBe("Context");
      expect((e as Error).message).toMatch(message);
    }
  });
});
