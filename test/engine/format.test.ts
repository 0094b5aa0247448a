import { describe, expect, it } from "vitest";
import {
  CHAIN_VERSION,
  decodeModel,
  encodeModel,
  FORMAT_VERSION,
  MAGIC,
  ModelFormatError,
} from "../../src/engine/format.js";
import type { EngineModel } from "../../src/engine/model.js";
import { Random } from "../../src/util/random.js";
import { everyLayerModel } from "./format-fixture.js";

const decoder = new TextDecoder();

// biome-ignore lint/suspicious/noExplicitAny: tests poke arbitrary (also invalid) values into the header
type Header = { [key: string]: any };

function headerOf(bytes: Uint8Array): Header {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  return JSON.parse(decoder.decode(bytes.subarray(16, 16 + length)));
}

/**
 * The same file with the header edited: the data moves far enough back (offsets are shifted
 * before the edit, by a multiple of 64) that the edited header always fits in front of it.
 */
function editHeader(
  bytes: Uint8Array,
  edit: (header: Header) => void,
  editText: (json: string) => string = (json) => json,
): Uint8Array {
  const render = (shift: number) => {
    const header = headerOf(bytes);
    for (const s of header["sections"]) s.offset += shift;
    edit(header);
    return new TextEncoder().encode(editText(JSON.stringify(header)));
  };
  const dataStart = Math.min(...headerOf(bytes)["sections"].map((s: { offset: number }) => s.offset));
  const shift = Math.ceil((render(0).length + 4096) / 64) * 64;
  const text = render(shift);
  const out = new Uint8Array(bytes.length + shift);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, text.length, true);
  out.set(text, 16);
  out.set(bytes.subarray(dataStart), dataStart + shift);
  return out;
}

function replaceHeader(bytes: Uint8Array, text: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice();
  out.fill(0x20, 16, 16 + length);
  out.set(text, 16);
  new DataView(out.buffer).setUint32(12, length, true);
  return out;
}

function decodeError(bytes: Uint8Array): ModelFormatError {
  try {
    decodeModel(bytes, "m.onebit");
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as ModelFormatError;
  }
  throw new Error("expected decodeModel to reject the file");
}

const errorOf = (bytes: Uint8Array) => decodeError(bytes).message;

describe("round trip", () => {
  it("decodes what it encodes, for a model with every layer kind", () => {
    const model = everyLayerModel();
    const bytes = encodeModel(model);
    const back = decodeModel(bytes, "every.onebit");
    expect(back).toEqual(model);
    expect(back.layers.map((l) => l.kind)).toEqual(model.layers.map((l) => l.kind));
    // Encoding is deterministic and stable under a second round.
    expect(encodeModel(back)).toEqual(bytes);
  });

  it("writes the documented prefix and 64-byte aligned sections", () => {
    const bytes = encodeModel(everyLayerModel());
    expect([...bytes.subarray(0, 8)]).toEqual([...MAGIC]);
    const view = new DataView(bytes.buffer);
    // A chain of format 1.x layers is still written as 1.x.
    expect([view.getUint16(8, true), view.getUint16(10, true)]).toEqual([
      CHAIN_VERSION.major,
      CHAIN_VERSION.minor,
    ]);
    const header = headerOf(bytes);
    expect(Object.keys(header)).toEqual(["name", "classNames", "layers", "sections", "metadata"]);
    for (const s of header["sections"]) expect(s.offset % 64).toBe(0);
    const last = header["sections"].at(-1);
    expect(bytes.length).toBe(last.offset + last.byteLength);
    // The binary conv's weights take O * kh * kw * ceil(C / 32) words.
    const conv1 = header["layers"][5];
    expect(header["sections"][conv1.weights]).toMatchObject({
      dtype: "bits",
      shape: [33, 3, 3, 40],
      byteLength: 33 * 9 * 2 * 4,
    });
  });

  it("reads a file from an unaligned byte offset (e.g. a pooled Node Buffer)", () => {
    const bytes = encodeModel(everyLayerModel());
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(decodeModel(shifted.subarray(3))).toEqual(everyLayerModel());
  });

  it("shares one section between layers that share a tensor", () => {
    const model = everyLayerModel();
    const pool = model.layers[6]!;
    const conv = model.layers[5]!;
    if (pool.kind !== "maxpool" || conv.kind !== "binary_conv2d" || conv.output.kind !== "threshold")
      throw new Error();
    pool.flip = conv.output.flip;
    const bytes = encodeModel(model);
    expect(headerOf(bytes)["layers"][6].flip).toBe(headerOf(bytes)["layers"][5].output.flip);
    const back = decodeModel(bytes);
    expect(back).toEqual(model);
  });

  it("accepts unknown fields only from a newer minor version", () => {
    const bytes = editHeader(encodeModel(everyLayerModel()), (h) => {
      h["layers"][1].futureField = 1;
    });
    expect(errorOf(bytes)).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): unknown field "futureField""`,
    );
    new DataView(bytes.buffer).setUint16(10, CHAIN_VERSION.minor + 1, true);
    expect(decodeModel(bytes)).toEqual(everyLayerModel());
  });
});

describe("explicit pads (2.0)", () => {
  it("are read from a 2.0 file, and a 1.x file may not use them", () => {
    // conv0 is a 3x3 stride-1 'same' conv on 8x8: pads [1, 1, 1, 1] give the same window.
    const chain = encodeModel(everyLayerModel());
    expect(new DataView(chain.buffer).getUint16(8, true)).toBe(CHAIN_VERSION.major);
    const bytes = editHeader(chain, (h) => {
      h["layers"][1].padding = [1, 1, 1, 1];
    });
    expect(errorOf(bytes)).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): padding: expected one of "valid", "same", got an array of 4"`,
    );
    new DataView(bytes.buffer).setUint16(8, FORMAT_VERSION.major, true);
    new DataView(bytes.buffer).setUint16(10, FORMAT_VERSION.minor, true);
    const model = decodeModel(bytes);
    expect(model.layers[1]).toEqual({ ...everyLayerModel().layers[1], padding: [1, 1, 1, 1] });
    // Written again: 2.0, the pads kept.
    const again = encodeModel(model);
    expect(headerOf(again)["layers"][1].padding).toEqual([1, 1, 1, 1]);
    expect(new DataView(again.buffer).getUint16(8, true)).toBe(FORMAT_VERSION.major);
    const bad = (pads: unknown) =>
      errorOf(
        editHeader(again, (h) => {
          h["layers"][1].padding = pads;
        }),
      );
    expect(bad([1, 1, 1])).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): padding: expected 4..4 items, got 3"`,
    );
    expect(bad([1, 1, 1, -1])).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): padding[3]: expected an integer in [0, 65536], got -1"`,
    );
    expect(bad([3, 0, 0, 0])).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): pads must be 4 non-negative integers [top, left, bottom, right], each smaller than the 3x3 window on its axis, got [3,0,0,0]"`,
    );
    expect(bad([1, 1, 2, 1])).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): declares output float [8,8,40] but its input and parameters give float [9,8,40]"`,
    );
  });
});

describe("rejects corrupt files with a message naming the fault", () => {
  const good = encodeModel(everyLayerModel());

  it("truncation, at every kind of place", () => {
    expect(errorOf(good.subarray(0, 5))).toMatchInlineSnapshot(
      `"m.onebit: file too short: 5 bytes, the fixed prefix alone is 16"`,
    );
    expect(errorOf(good.subarray(0, 40))).toMatchInlineSnapshot(
      `"m.onebit: header length 3692 runs past the end of the file (40 bytes): truncated?"`,
    );
    expect(errorOf(good.subarray(0, good.length - 1))).toMatchInlineSnapshot(
      `"m.onebit: section 16: bytes 12480..13280 run past the end of the file (13279 bytes): truncated?"`,
    );
    const firstSection = headerOf(good)["sections"][0].offset;
    expect(errorOf(good.subarray(0, firstSection + 10))).toMatchInlineSnapshot(
      `"m.onebit: section 0: bytes 3712..8032 run past the end of the file (3722 bytes): truncated?"`,
    );
    // Any cut is rejected, and quickly.
    for (let cut = 0; cut < good.length; cut += 97)
      expect(() => decodeModel(good.subarray(0, cut))).toThrow(ModelFormatError);
  });

  it("wrong magic, newer or older major version", () => {
    const bad = good.slice();
    bad[1] = 0x50;
    expect(errorOf(bad)).toMatchInlineSnapshot(`"m.onebit: not a .onebit file (wrong magic number)"`);
    const newer = good.slice();
    new DataView(newer.buffer).setUint16(8, FORMAT_VERSION.major + 1, true);
    expect(errorOf(newer)).toMatchInlineSnapshot(
      `"m.onebit: format version 3.1 is newer than this reader (1.x and 2.x): upgrade onebit"`,
    );
    const older = good.slice();
    new DataView(older.buffer).setUint16(8, 0, true);
    expect(errorOf(older)).toMatchInlineSnapshot(
      `"m.onebit: format version 0.1 is not supported (this reader reads 1.x and 2.x)"`,
    );
  });

  it("bad header length, header not UTF-8 or not JSON, JSON not an object", () => {
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(12, 0xffffffff, true);
    expect(errorOf(huge)).toMatchInlineSnapshot(
      `"m.onebit: header length 4294967295 exceeds the limit of 16777216"`,
    );
    const past = good.slice();
    new DataView(past.buffer).setUint32(12, good.length, true);
    expect(errorOf(past)).toMatchInlineSnapshot(
      `"m.onebit: header length 13280 runs past the end of the file (13280 bytes): truncated?"`,
    );
    const text = (s: string) => new TextEncoder().encode(s);
    expect(errorOf(replaceHeader(good, text('{"name": '), 9))).toMatchInlineSnapshot(
      `"m.onebit: header is not valid JSON (Unexpected end of JSON input)"`,
    );
    expect(errorOf(replaceHeader(good, Uint8Array.of(0x7b, 0xff, 0x7d), 3))).toMatchInlineSnapshot(
      `"m.onebit: header is not valid UTF-8"`,
    );
    expect(errorOf(replaceHeader(good, text("[1, 2]"), 6))).toMatchInlineSnapshot(
      `"m.onebit: header must be a JSON object"`,
    );
  });

  it("deeply nested JSON is rejected without exhausting the stack", () => {
    const nest = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const withMetadata = (json: string) =>
      editHeader(
        good,
        (h) => (h["metadata"] = { deep: "DEEP" }),
        (text) => text.replace('"DEEP"', json),
      );
    expect(errorOf(withMetadata(nest(200_000)))).toMatchInlineSnapshot(
      `"m.onebit: header JSON nests deeper than 40 levels"`,
    );
    expect(decodeModel(withMetadata(nest(20))).metadata).toEqual({ deep: JSON.parse(nest(20)) });
  });

  it("section table faults: unaligned, overlapping, out of bounds, wrong size, wrong dtype, unused", () => {
    const edit = (f: (h: Header) => void) => errorOf(editHeader(good, f));
    expect(edit((h) => (h["sections"][2].offset += 4))).toMatchInlineSnapshot(
      `"m.onebit: section 2: offset 16068 is not a multiple of 64"`,
    );
    expect(edit((h) => (h["sections"][2].offset = h["sections"][1].offset))).toMatchInlineSnapshot(
      `"m.onebit: section 2 overlaps section 1"`,
    );
    expect(edit((h) => (h["sections"][0].offset = 0))).toMatchInlineSnapshot(
      `"m.onebit: section 0: offset 0 lies inside the header (data starts at 3712)"`,
    );
    expect(edit((h) => (h["sections"][0].offset = 2 ** 40))).toMatchInlineSnapshot(
      `"m.onebit: section 0: bytes 1099511627776..1099511632096 run past the end of the file (21088 bytes): truncated?"`,
    );
    expect(edit((h) => (h["sections"][0].shape = [41, 3, 3, 3]))).toMatchInlineSnapshot(
      `"m.onebit: section 0: a f32 tensor of shape [41,3,3,3] takes 4428 bytes, the table says 4320"`,
    );
    expect(edit((h) => (h["sections"][0].byteLength = -5))).toMatchInlineSnapshot(
      `"m.onebit: header.sections[0].byteLength: expected an integer in [1, 9007199254740991], got -5"`,
    );
    expect(edit((h) => (h["layers"][5].weights = 0))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): weights: expected a bits section, section 0 is f32"`,
    );
    expect(edit((h) => (h["layers"][5].weights = 999))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): weights: expected an integer in [0, 16], got 999"`,
    );
    expect(edit((h) => delete h["layers"][1].bias)).toMatchInlineSnapshot(
      `"m.onebit: section 1 (f32 [40]) is not used by any layer"`,
    );
  });

  it("a shape that disagrees with the data it names", () => {
    // Same byte length, different shape: the section table is consistent, the layer is not.
    const edit = (f: (h: Header) => void) => errorOf(editHeader(good, f));
    expect(edit((h) => (h["sections"][0].shape = [40, 3, 9, 1]))).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): weights: expected shape [40,3,9,3], got [40,3,9,1]"`,
    );
    expect(edit((h) => (h["sections"][h["layers"][5].weights].shape = [33, 3, 3, 33]))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): weights: expected shape [33,3,3,40], got [33,3,3,33]"`,
    );
  });

  it("schema faults name the layer and the field", () => {
    const edit = (f: (h: Header) => void) => errorOf(editHeader(good, f));
    expect(edit((h) => (h["layers"][5].padValue = 2))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): padValue: expected one of -1, 0, 1, got 2"`,
    );
    expect(edit((h) => (h["layers"][5].strides = [1, 0]))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): strides[1]: expected an integer in [1, 65536], got 0"`,
    );
    expect(edit((h) => (h["layers"][5].kind = "binary_conv3d"))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv3d): kind: expected one of input, float_conv2d, float_dense, bwn_conv2d, bwn_dense, bitpack, unpack, binary_conv2d, binary_dense, maxpool, avgpool, batchnorm, flatten, relu, softmax, got "binary_conv3d""`,
    );
    expect(edit((h) => (h["layers"][5].output.kind = "lut"))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): output.kind: expected one of threshold, affine, got "lut""`,
    );
    expect(edit((h) => (h["layers"][2].in.shape = [8, 8, -40]))).toMatchInlineSnapshot(
      `"m.onebit: layer 2 'bn0' (batchnorm): in.shape[2]: expected an integer in [1, 16777216], got -40"`,
    );
    expect(edit((h) => (h["layers"][0].scale = [1, Number.NaN]))).toMatchInlineSnapshot(
      `"m.onebit: layer 0 'input' (input): scale[1]: expected a finite number, got null"`,
    );
    expect(edit((h) => (h["classNames"] = []))).toMatchInlineSnapshot(
      `"m.onebit: header.classNames: expected 1..65536 items, got 0"`,
    );
    expect(edit((h) => (h["metadata"] = 3))).toMatchInlineSnapshot(
      `"m.onebit: header.metadata: expected an object"`,
    );
  });

  it("inconsistent layer chains", () => {
    const edit = (f: (h: Header) => void) => errorOf(editHeader(good, f));
    // conv1 claims 32 input channels, but sign0 produces 40.
    expect(edit((h) => (h["layers"][5].in.shape = [8, 8, 32]))).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): declares input bits [8,8,32] but the previous layer produces bits [8,8,40]"`,
    );
    // A binary layer fed floats.
    expect(edit((h) => (h["layers"][4].out.layout = "float"))).toMatchInlineSnapshot(
      `"m.onebit: layer 4 'sign0' (bitpack): declares output float [8,8,40] but its input and parameters give bits [8,8,40]"`,
    );
    // An output shape that does not follow from the parameters.
    expect(
      edit((h) => {
        h["layers"][6].out.shape = [8, 8, 33];
        h["layers"][7].in.shape = [8, 8, 33];
      }),
    ).toMatchInlineSnapshot(
      `"m.onebit: layer 6 'pool1' (maxpool): declares output bits [8,8,33] but its input and parameters give bits [4,4,33]"`,
    );
    expect(edit((h) => (h["layers"][1].name = "input"))).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'input' (float_conv2d): duplicate layer name 'input'"`,
    );
    expect(edit((h) => h["classNames"].push("10"))).toMatchInlineSnapshot(
      `"m.onebit: the last layer produces float [10], expected float [11] (one score per class name)"`,
    );
    expect(edit((h) => h["layers"].splice(0, 1))).toMatchInlineSnapshot(
      `"m.onebit: layer 0 'conv0' (float_conv2d): the first layer must be an input layer"`,
    );
  });

  it("packed tensors with set tail bits, and non-finite floats", () => {
    const header = headerOf(good);
    const flip = header["sections"][header["layers"][5].output.flip];
    const tail = good.slice();
    tail[flip.offset + 7] = 0x80; // word 1 holds channel 32 only
    expect(errorOf(tail)).toMatchInlineSnapshot(
      `"m.onebit: layer 5 'conv1' (binary_conv2d): output.flip: tail bits of word 1 (beyond the 33 real bits of its row) are not 0"`,
    );
    const nan = good.slice();
    new DataView(nan.buffer).setFloat32(header["sections"][0].offset + 8, Number.NaN, true);
    expect(errorOf(nan)).toMatchInlineSnapshot(
      `"m.onebit: layer 1 'conv0' (float_conv2d): weights: element 2 is NaN, not finite"`,
    );
  });

  it("the error carries the file and layer", () => {
    const e = decodeError(editHeader(good, (h) => (h["layers"][5].padValue = 2)));
    expect(e.file).toBe("m.onebit");
    expect(e.layer).toEqual({ index: 5, name: "conv1", kind: "binary_conv2d" });
  });
});

describe("encodeModel refuses models it could not read back", () => {
  it("a weight shape that does not match the input channels", () => {
    const model: EngineModel = everyLayerModel();
    const conv = model.layers[5]!;
    if (conv.kind !== "binary_conv2d") throw new Error();
    conv.in = { layout: "bits", shape: [8, 8, 39] };
    expect(() => encodeModel(model)).toThrowErrorMatchingInlineSnapshot(
      `[ModelFormatError: onebit model: layer 5 'conv1' (binary_conv2d): declares input bits [8,8,39] but the previous layer produces bits [8,8,40]]`,
    );
  });
});

describe("more models and limits", () => {
  const mlp = (hidden: number, fill = 0): EngineModel => {
    const bits = (o: number, c: number) => ({
      dtype: "bits" as const,
      shape: [o, c],
      data: new Uint32Array(o * Math.ceil(c / 32)).fill(fill),
    });
    return {
      name: "bnn-mlp",
      classNames: Array.from({ length: 10 }, (_, i) => `digit ${i}`),
      layers: [
        {
          kind: "input",
          name: "pixels",
          in: { layout: "float", shape: [784] },
          out: { layout: "float", shape: [784] },
          scale: [1 / 255],
          offset: [0],
        },
        {
          kind: "bitpack",
          name: "sign",
          in: { layout: "float", shape: [784] },
          out: { layout: "bits", shape: [784] },
        },
        {
          kind: "binary_dense",
          name: "fc1",
          in: { layout: "bits", shape: [784] },
          out: { layout: "bits", shape: [hidden] },
          weights: bits(hidden, 784),
          output: {
            kind: "threshold",
            thresholds: { dtype: "i32", shape: [hidden], data: new Int32Array(hidden).fill(-3) },
            flip: { dtype: "bits", shape: [hidden], data: new Uint32Array(Math.ceil(hidden / 32)) },
          },
        },
        {
          kind: "binary_dense",
          name: "fc2",
          in: { layout: "bits", shape: [hidden] },
          out: { layout: "float", shape: [10] },
          weights: { dtype: "bits", shape: [10, hidden], data: new Uint32Array(10 * Math.ceil(hidden / 32)) },
          output: {
            kind: "affine",
            scale: { dtype: "f32", shape: [10], data: new Float32Array(10).fill(0.5) },
            bias: { dtype: "f32", shape: [10], data: new Float32Array(10) },
          },
        },
      ],
      metadata: {},
    };
  };

  it("round-trips a binary MLP with a threshold dense layer and bits of odd width", () => {
    const model = mlp(100);
    expect(decodeModel(encodeModel(model))).toEqual(model);
  });

  it("decodes a 4096-wide model quickly", () => {
    const model = mlp(4096, 0x5555);
    // 784 is not a multiple of 32: keep the tail bits of fc1's rows clear.
    const fc1 = model.layers[2]!;
    if (fc1.kind !== "binary_dense") throw new Error();
    for (let r = 0; r < 4096; r++) fc1.weights.data[r * 25 + 24]! &= 0xffff;
    const bytes = encodeModel(model);
    const start = performance.now();
    const back = decodeModel(bytes);
    const ms = performance.now() - start;
    expect(back).toEqual(model);
    expect(ms).toBeLessThan(1000);
  });

  it("encodeModel rejects metadata and fields that would not read back", () => {
    const nan = mlp(8);
    nan.metadata = { accuracy: Number.NaN };
    expect(() => encodeModel(nan)).toThrowErrorMatchingInlineSnapshot(
      `[ModelFormatError: onebit model: metadata.accuracy: NaN is not a finite number]`,
    );
    const extra = mlp(8);
    (extra.layers[1] as unknown as Record<string, unknown>)["cache"] = 1;
    expect(() => encodeModel(extra)).toThrowErrorMatchingInlineSnapshot(
      `[ModelFormatError: onebit model: layer 1 'sign' (bitpack): unknown field "cache"]`,
    );
    const classes = mlp(8);
    classes.classNames[3] = 3 as unknown as string;
    expect(() => encodeModel(classes)).toThrowErrorMatchingInlineSnapshot(
      `[ModelFormatError: onebit model: class name 3 must be a string of at most 256 characters]`,
    );
  });

  it("refuses windows whose work would make the runtime spin", () => {
    const good = encodeModel(everyLayerModel());
    const bytes = editHeader(good, (h) => {
      h["layers"][9].poolSize = [60000, 60000];
      h["layers"][9].padding = "same";
    });
    expect(errorOf(bytes)).toMatchInlineSnapshot(
      `"m.onebit: layer 9 'pool3' (maxpool): a 60000x60000 window over [2,2,16] visits 230400000000 taps, more than 68719476736"`,
    );
  });
});

describe("decode is total: any damage gives a ModelFormatError or a valid model", () => {
  const good = encodeModel(everyLayerModel());
  const rng = new Random(42);

  const decodesOrRejects = (bytes: Uint8Array) => {
    try {
      decodeModel(bytes);
    } catch (e) {
      if (!(e instanceof ModelFormatError)) throw e;
    }
  };

  it("random byte flips anywhere in the file", () => {
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = good.slice();
      for (let n = 1 + rng.int(4); n > 0; n--) {
        // Half the flips land in the prefix and header, where the structure lives.
        const at = rng.next() < 0.5 ? rng.int(16 + 3700) : rng.int(bytes.length);
        bytes[at] = rng.int(256);
      }
      decodesOrRejects(bytes);
    }
  });

  it("random values grafted anywhere into the header JSON", () => {
    const pool: unknown[] = [
      null,
      true,
      -1,
      0,
      1,
      2.5,
      2 ** 31,
      -(2 ** 53),
      1e300,
      "",
      "bits",
      "threshold",
      [],
      [0],
      [1, 1],
      {},
      { kind: "affine" },
    ];
    const nodes = (v: unknown, out: { parent: Header; key: string | number }[] = []) => {
      if (v !== null && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          out.push({ parent: v as Header, key: Array.isArray(v) ? Number(k) : k });
          nodes(x, out);
        }
      }
      return out;
    };
    for (let trial = 0; trial < 1500; trial++) {
      const bytes = editHeader(good, (h) => {
        const all = nodes(h);
        for (let n = 1 + rng.int(2); n > 0; n--) {
          const { parent, key } = all[rng.int(all.length)]!;
          if (rng.next() < 0.2) delete parent[key];
          else parent[key] = structuredClone(pool[rng.int(pool.length)]);
        }
      });
      decodesOrRejects(bytes);
    }
  });
});
