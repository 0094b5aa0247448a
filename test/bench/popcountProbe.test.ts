// The popcount probe behind `onebit bench bgemm`'s ceiling row: its three loops must count
// what a plain popcount counts, or the ceiling they report means nothing.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { Random } from "../../src/util/random.js";

function popcount32(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x; x &= x - 1) n++;
  return n;
}

type ProbeExports = Record<string, (...args: number[]) => bigint> & { memory: WebAssembly.Memory };

async function loadProbe(): Promise<ProbeExports> {
  const bytes = readFileSync(new URL("../../build/wasm/onebit-probe.wasm", import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { abort: () => undefined } });
  return instance.exports as ProbeExports;
}

it("i64.popcnt, i8x16.popcnt and Harley-Seal loops count the XOR bits of a and b, times reps", async () => {
  const e = await loadProbe();
  if (e.memory.buffer.byteLength < 65536) e.memory.grow(1);
  const rng = new Random(9);
  // 1024 bytes: past the i8x16 loop's 512-byte widening block and 8 Harley-Seal steps;
  // `saturated`: a all ones, b all zeros, so every 8-bit lane reaches its maximum.
  for (const [length, saturated] of [
    [128, false],
    [1024, false],
    [1024, true],
  ] as const) {
    const a = 1024;
    const b = a + length;
    const words = new Uint32Array(e.memory.buffer, a, length / 2);
    for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
    if (saturated) {
      words.fill(0xffffffff, 0, length / 4);
      words.fill(0, length / 4);
    }
    let want = 0;
    for (let i = 0; i < length / 4; i++) want += popcount32(words[i]! ^ words[length / 4 + i]!);
    for (const name of ["xorPopcountScalar", "xorPopcountV128", "xorPopcountHarleySeal"]) {
      expect([name, e[name]!(a, b, length, 3)]).toEqual([name, BigInt(3 * want)]);
    }
  }
});

it("popcountRegisters counts the bits of its eight chains", async () => {
  const f = (await loadProbe()).popcountRegisters!;
  const k = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  const r = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
  let want = 0n;
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 8; j++) {
      r[j] = (r[j]! + k) & mask;
      want += BigInt(r[j]!.toString(2).replaceAll("0", "").length);
    }
  }
  expect(f(5)).toBe(want);
});
