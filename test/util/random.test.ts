import { describe, expect, it } from "vitest";
import { Random } from "../../src/util/random.js";

describe("Random", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it("state round-trips through setState and continues the same stream", () => {
    const a = new Random(123);
    for (let i = 0; i < 1000; i++) a.next();
    for (let i = 0; i < 50; i++) {
      const s = a.state;
      expect(s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)).toBe(true);
      const b = new Random(0).setState(s);
      expect(b.nextUint32()).toBe(a.nextUint32());
    }
  });

  it("permutation contains every index once and uniform() stays in range", () => {
    const r = new Random(1);
    const p = Array.from(r.permutation(100)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform(-2, 3);
      expect(u).toBeGreaterThanOrEqual(-2);
      expect(u).toBeLessThan(3);
    }
  });
});
