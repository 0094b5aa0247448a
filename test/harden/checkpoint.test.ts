/**
 * Regression tests for the checkpoint reader faults the fuzzer and review found: an untyped
 * TypeError on a null table entry, tensors aliasing one region (each copied: hundreds of
 * times the file in memory), negative or fractional shapes accepted, deep header nesting,
 * and a model config describing a far bigger model than the file holds (gigabytes
 * allocated before the shape mismatch showed).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkCheckpointModel, readCheckpoint } from "../../src/nn/checkpoint.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "../../src/nn/checkpointFormat.js";

const seed = new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, "seeds/mlp.ckpt")));
const view = new DataView(seed.buffer);
const headerLength = view.getUint32(12, true);
// biome-ignore lint/suspicious/noExplicitAny: a header under attack is any JSON.
type Header = any;
const header: Header = JSON.parse(new TextDecoder().decode(seed.subarray(16, 16 + headerLength)));
const data = seed.subarray(16 + headerLength);

/** The seed with its header replaced (JSON text, padded to 16 bytes), data unchanged. */
function withHeader(text: string): Uint8Array {
  const json = new TextEncoder().encode(text);
  const padded = Math.ceil(json.length / 16) * 16;
  const out = new Uint8Array(16 + padded + data.length).fill(0x20, 16, 16 + padded);
  out.set(seed.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, padded, true);
  out.set(json, 16);
  out.set(data, 16 + padded);
  return out;
}

const edited = (edit: (h: Header) => void) => {
  const h = structuredClone(header);
  edit(h);
  return withHeader(JSON.stringify(h));
};

function errorOf(bytes: Uint8Array): string {
  try {
    decodeCheckpoint(bytes, "x.ckpt");
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  }
  throw new Error("expected a CheckpointError");
}

describe("checkpoint reader", () => {
  it("the seed decodes (the control)", () => {
    expect(decodeCheckpoint(seed, "x.ckpt").tensors.size).toBe(header.tensors.length);
  });

  it("a null or non-object table entry is a CheckpointError, not a TypeError", () => {
    expect(errorOf(edited((h) => (h.tensors[0] = null)))).toBe(
      "x.ckpt: not a valid onebit checkpoint: tensor table entry 0 is null, not an object",
    );
    expect(errorOf(edited((h) => (h.tensors[2] = 7)))).toMatch(/tensor table entry 2 is 7, not an object$/);
    expect(errorOf(edited((h) => (h.tensors[1].name = { a: 1 })))).toMatch(
      /tensor table entry 1 has no name/,
    );
  });

  it("negative or fractional dims are refused", () => {
    expect(errorOf(edited((h) => (h.tensors[0].shape = [-16, -324])))).toBe(
      "x.ckpt: not a valid onebit checkpoint: tensor 'layers.1.kernel' has shape [-16,-324], expected up to 8 non-negative integers",
    );
    expect(errorOf(edited((h) => (h.tensors[0].shape = [0.5, 10368])))).toMatch(/has shape \[0.5,10368\]/);
  });

  it("tensors aliasing one region are refused before any copy (was: 218x the file in memory)", () => {
    const big = header.tensors[0];
    const bytes = edited((h) => {
      for (let i = 0; i < 5000; i++) h.tensors.push({ ...big, name: `alias${i}` });
    });
    const before = process.memoryUsage();
    expect(errorOf(bytes)).toBe(
      "x.ckpt: not a valid onebit checkpoint: tensor 'alias0' overlaps tensor 'layers.1.kernel'",
    );
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    expect(grown).toBeLessThan(16 * bytes.length + (4 << 20));
  });

  it("a deeply nested header is refused before JSON.parse", () => {
    const bytes = withHeader(`{"state":${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}}`);
    const t0 = performance.now();
    expect(errorOf(bytes)).toBe(
      "x.ckpt: not a valid onebit checkpoint: header JSON nests deeper than 64 levels",
    );
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("wrong field types are refused: epoch, model, layers, state", () => {
    expect(errorOf(edited((h) => (h.epoch = "1")))).toMatch(/epoch "1" is not a count$/);
    expect(errorOf(edited((h) => (h.model.options = null)))).toMatch(/model\.options \(an object\)$/);
    expect(errorOf(edited((h) => (h.layers = [1])))).toMatch(/the layer list/);
    expect(errorOf(edited((h) => (h.state = [])))).toMatch(/state is not an object$/);
  });
});

describe("readCheckpoint: the model a checkpoint describes must fit what it holds", () => {
  const file = (bytes: Uint8Array) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "onebit-ck-")), "last.ckpt");
    fs.writeFileSync(f, bytes);
    return f;
  };

  it("the seed loads (the control)", async () => {
    expect((await readCheckpoint(file(seed))).model?.builder).toBe("bnn-mlp");
  });

  it("a hostile width fails fast (was: 827 MB and 7 s for width 10000, then a bare error)", async () => {
    // A version-1 file: its builder config is checked against the layer list it stores.
    for (const width of [10_000, 1e6, 2 ** 30]) {
      const f = file(edited((h) => (h.model.options.width = width)));
      const t0 = performance.now();
      const err = await readCheckpoint(f).catch((e) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toMatch(
        new RegExp(
          `^${f}: not a valid onebit checkpoint: layer 1 is .* in the file, but its model config \\(bnn-mlp .*\\) builds .*"units":${width}`,
        ),
      );
      expect(performance.now() - t0).toBeLessThan(5000);
    }
  });

  it("a hostile spec (version 2) fails fast on the capped trial build", async () => {
    const ck = decodeCheckpoint(seed, "s.ckpt");
    const dense = ck.spec.layers.find((l) => l.type === "quant_dense")!;
    dense.config.units = 2 ** 28;
    const next = ck.spec.layers[ck.spec.layers.indexOf(dense) + 1]!;
    next.config.channels = 2 ** 28;
    const f = file(encodeCheckpoint(ck));
    const t0 = performance.now();
    const err = await readCheckpoint(f).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toMatch(new RegExp(`^${f}: not a valid onebit checkpoint: `));
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it("bad options and shape mismatches name the file and the layer", async () => {
    const neg = await readCheckpoint(file(edited((h) => (h.model.options.width = -1)))).catch((e) => e);
    expect(neg).toBeInstanceOf(CheckpointError);
    expect(() =>
      decodeCheckpoint(
        edited((h) => (h.model.options.width = 8)),
        "n.ckpt",
      ),
    ).toThrow(
      /^n\.ckpt: not a valid onebit checkpoint: layer 1 is .*"units":16.* in the file, but its model config \(bnn-mlp .*\) builds .*"units":8/,
    );
    // Version 2: the spec decides the shapes; a tensor that does not fit is named.
    const ck = decodeCheckpoint(seed, "n.ckpt");
    const name = `${ck.spec.layers[1]!.name}.kernel`;
    const t = ck.tensors.get(name)!;
    ck.tensors.set(name, { shape: [t.shape[0]! / 2, t.shape[1]! * 2], data: t.data });
    await expect(checkCheckpointModel(ck, "n.ckpt")).rejects.toThrow(
      `n.ckpt: not a valid onebit checkpoint: tensor '${name}' has shape [8,648], the bnn-mlp model it describes has [16,324]`,
    );
  });

  it("a config that builds other layers than the file lists (same shapes) names the layer", () => {
    // The seed's first layer has binary weights; 'float' builds the same tensors, unquantized.
    expect(() =>
      decodeCheckpoint(
        edited((h) => (h.model.options.first = "float")),
        "f.ckpt",
      ),
    ).toThrow(
      /f\.ckpt: not a valid onebit checkpoint: layer 1 is .*"kernelQuantizer":\{"name":"ste_sign"\}.* in the file, but its model config .* builds .*"kernelQuantizer":null/,
    );
  });

  it("a version-1 file loads with its tensors renamed to the spec's layer names", async () => {
    const ck = await readCheckpoint(file(seed));
    expect(ck.spec.layers.map((l) => l.name).slice(0, 3)).toEqual([
      "flatten_1",
      "quant_dense_1",
      "batch_norm_1",
    ]);
    expect(ck.tensors.get("quant_dense_1.kernel")?.shape).toEqual([16, 324]);
    expect([...ck.tensors.keys()].some((n) => n.includes("layers."))).toBe(false);
  });
});
