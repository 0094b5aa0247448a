/**
 * docs/format.md's residual worked example (section 8): the documented header is what the
 * writer writes, and the engine computes what the page's formulas give, evaluated here by
 * hand (an independent reading of the specification, not the runtime's code).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodeModel } from "../../src/engine/format.js";
import { Engine } from "../../src/engine/runtime.js";
import { residualModel } from "./residualExample.js";

function documentedHeader() {
  const doc = readFileSync(new URL("../../docs/format.md", import.meta.url), "utf8");
  const example = /<!-- residual-example-header -->\s*```json\n([\s\S]*?)```/.exec(doc);
  if (!example) throw new Error("docs/format.md lost its residual example header");
  return JSON.parse(example[1]!);
}

/** The example by the page's formulas, for one image of raw values [2, 2, 2]. */
function byHand(raw: number[]): number[] {
  const f = Math.fround;
  const x = raw.map((v) => f(v * 0.00784313725490196 + -1));
  const thr = [-0.25, 0.5];
  const sign = x.map((v, i) => (v >= thr[i % 2]! ? 1 : -1));
  const w = [
    [1, -1],
    [1, 1],
  ];
  const block: number[] = [];
  const [mean, invStd, beta] = [
    [0.5, -0.5],
    [1, 2],
    [0.125, -0.125],
  ];
  for (let p = 0; p < 4; p++) {
    for (let o = 0; o < 2; o++) {
      const dot = sign[p * 2]! * w[o]![0]! + sign[p * 2 + 1]! * w[o]![1]!;
      const z = f(f(dot * 0.5) + 0);
      const y = f(f(1 * f(f(z - mean[o]!) * invStd[o]!)) + beta[o]!);
      block.push(f(y + x[p * 2 + o]!));
    }
  }
  const pool = [0, 1].map((c) => f((block[c]! + block[2 + c]! + block[4 + c]! + block[6 + c]!) / 4));
  return [f(f(pool[0]! - pool[1]!) + 0), f(f(-pool[0]! + pool[1]!) + 0.5)];
}

describe("docs/format.md residual example", () => {
  it("the documented header is what the writer writes, as format 2.0", () => {
    const bytes = encodeModel(residualModel());
    const view = new DataView(bytes.buffer);
    expect([view.getUint16(8, true), view.getUint16(10, true)]).toEqual([2, 0]);
    const length = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
    expect(documentedHeader()).toEqual(header);
  });

  it("the engine computes what the page's formulas give", async () => {
    const engine = await Engine.load(encodeModel(residualModel()));
    for (const raw of [
      [0, 255, 128, 64, 200, 10, 90, 160],
      [97, 96, 159, 160, 0, 0, 255, 255],
    ]) {
      expect([...engine.predict(Uint8Array.from(raw)).scores]).toEqual(byHand(raw));
    }
    engine.dispose();
  });
});
