import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatField, Progress } from "../../src/util/progress.js";

/** A stream that records what is written; `isTTY` decides the default mode. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  const s = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(s, { isTTY, columns: 120, text: () => chunks.join("") });
}

afterEach(() => vi.restoreAllMocks());

describe("Progress", () => {
  it("not a TTY: one line per completed stage", () => {
    const out = sink(false);
    const p = new Progress({ stream: out });
    expect(p.mode).toBe("lines");
    p.begin("epoch 1", 600);
    for (let i = 1; i <= 600; i++) p.update(i, { loss: 1 / i, acc: 0.5 + i / 2000 });
    expect(out.text()).toBe("");
    p.end({ "samples/s": 12345.6 });
    expect(out.text()).toMatch(
      /^epoch 1: 600\/600 in \d+\.\d s {2}loss 0\.001667 {2}acc 0\.8 {2}samples\/s 12346\n$/,
    );
  });

  it("a TTY: a live bar with label, step/total, fields and ETA", () => {
    const out = sink(true);
    const p = new Progress({ stream: out });
    expect(p.mode).toBe("bar");
    p.begin("sweep", 10, { layer: "conv2" });
    p.update(4, { loss: 0.25 });
    p.end();
    const text = out.text();
    expect(text).toContain("sweep ");
    expect(text).toContain("4/10  layer conv2  loss 0.25  ETA ");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("quiet writes nothing; stdout is refused", () => {
    const out = sink(true);
    const p = new Progress({ stream: out, mode: "quiet" });
    p.begin("x", 3);
    p.increment();
    p.end();
    expect(out.text()).toBe("");
    expect(() => new Progress({ stream: process.stdout })).toThrow("refusing to write to stdout");
  });

  it("never touches stdout, whatever the mode", () => {
    const spy = vi.spyOn(process.stdout, "write");
    for (const isTTY of [true, false]) {
      const p = new Progress({ stream: sink(isTTY) });
      p.begin("a", 2);
      p.increment(1, { loss: 1 });
      p.begin("b", 2); // ends "a"
      p.increment(2);
      p.end();
    }
    expect(spy).not.toHaveBeenCalled();
  });

  it("formats fields compactly", () => {
    expect(formatField(3)).toBe("3");
    expect(formatField(0.123456)).toBe("0.1235");
    expect(formatField(98.765)).toBe("98.77");
    expect(formatField(54321.9)).toBe("54322");
    expect(formatField("conv1")).toBe("conv1");
    expect(formatField(Number.NaN)).toBe("NaN");
  });
});
