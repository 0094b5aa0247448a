/**
 * Mutations of valid files, as fast-check arbitraries. A mutation is a small plan (numbers
 * and op names, so fast-check can shrink it) that `applyMutation` turns into bytes:
 *
 *   truncate   cut the file at an offset
 *   flip       flip 1..8 bits
 *   bytes      overwrite 1..6 bytes with edge values (0x00, 0xff, 0x7f, 0x80, ...)
 *   u32        write an edge-valued 32-bit integer (0, 2^31, 2^32-1, file size +- 1, ...) at a
 *              length/offset/version field or anywhere, either byte order
 *   append     trailing garbage
 *   splice     copy a region of the file over another (overlapping sections, repeated tables)
 *   idxdims    (IDX) a new dimension count and dims, the data kept
 *   json       (headers in JSON) 1..3 structural edits: set a node to an edge value, delete it,
 *              duplicate an array item up to 5000 times, copy another node over it, nudge a
 *              number, nest it 10..100000 levels deep; the file is re-packed around the new
 *              header (lengths and, for .onebit, absolute section offsets kept consistent)
 *   jsontext   raw text edits of the header (truncate, insert, delete): malformed JSON
 *   header     the whole header replaced by random JSON (fc.json)
 *   gzip       (gzip seeds) mutate the raw content and recompress, or mutate the gzip stream
 *   combo      2..3 of the above in a row
 */
import zlib from "node:zlib";
import fc from "fast-check";

const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const NEST = "\u0000nest\u0000";

/** A valid file to mutate: its format decides which mutations apply. */
// seed: { name, format: "onebit" | "checkpoint" | "idx" | "cifar" | "onnx", gzip?: boolean, bytes: Uint8Array }
// (ONNX files, protobuf, get the byte-level mutations: bit flips and edge bytes hit varint
// lengths, dims, attribute values and tensor data.)

function u32Values(size) {
  return fc.oneof(
    fc.constantFrom(0, 1, 2, 3, 4, 16, 64, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff, 1 << 24),
    fc.constantFrom(size - 1, size, size + 1, size - 16, size * 2),
    fc.nat({ max: 0xffff_ffff }),
  );
}

const JSON_EDGE = [
  0,
  -1,
  1,
  2,
  0.5,
  -0.5,
  63,
  64,
  65,
  4096,
  2 ** 24,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  "",
  "x",
  "f32",
  "i32",
  "bits",
  "float",
  "input",
  "threshold",
  "a".repeat(300),
  null,
  true,
  false,
  [],
  {},
  [1],
  [0, 0],
  [2 ** 31, 2 ** 31],
  [1, 1, 1, 1, 1],
  { kind: "relu" },
];

const jsonEdit = fc.oneof(
  fc.record({ action: fc.constant("set"), pick: fc.nat(), value: fc.constantFrom(...JSON_EDGE) }),
  fc.record({ action: fc.constant("delete"), pick: fc.nat() }),
  fc.record({ action: fc.constant("dup"), pick: fc.nat(), times: fc.constantFrom(1, 2, 3, 100, 5000) }),
  fc.record({ action: fc.constant("copy"), pick: fc.nat(), from: fc.nat() }),
  fc.record({
    action: fc.constant("num"),
    pick: fc.nat(),
    how: fc.constantFrom("+1", "-1", "*2", "neg", "+64", "-64", "*1000", "/2"),
  }),
  fc.record({
    action: fc.constant("nest"),
    pick: fc.nat(),
    depth: fc.constantFrom(10, 33, 1000, 100_000, 1_000_000),
  }),
);

const textEdit = fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 16 }),
  insert: fc.oneof(
    fc.constantFrom("", "{", "}", "[", "]", ",", '"', ":", "\\", "\u00ff", "\ud800", "1e999"),
    fc.string({ maxLength: 8 }),
  ),
});

function baseOps(size, fields) {
  const at = size > 0 ? fc.nat({ max: size - 1 }) : fc.constant(0);
  return [
    fc.record({ op: fc.constant("truncate"), at }),
    fc.record({
      op: fc.constant("flip"),
      bits: fc.array(fc.nat({ max: Math.max(0, size * 8 - 1) }), { minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      op: fc.constant("bytes"),
      writes: fc.array(fc.tuple(at, fc.oneof(fc.constantFrom(...EDGE_BYTES), fc.nat({ max: 255 }))), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
    fc.record({
      op: fc.constant("u32"),
      at: fields.length ? fc.oneof(fc.constantFrom(...fields), at) : at,
      value: u32Values(size),
      le: fc.boolean(),
    }),
    fc.record({ op: fc.constant("append"), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ op: fc.constant("splice"), from: at, to: at, length: fc.integer({ min: 1, max: 512 }) }),
  ];
}

function formatOps(seed) {
  if (seed.format === "onebit" || seed.format === "checkpoint") {
    return [
      fc.record({ op: fc.constant("json"), edits: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }) }),
      fc.record({ op: fc.constant("jsontext"), edits: fc.array(textEdit, { minLength: 1, maxLength: 3 }) }),
      fc.record({ op: fc.constant("header"), text: fc.json({ maxDepth: 4 }) }),
    ];
  }
  if (seed.format === "idx") {
    return [
      fc.record({
        op: fc.constant("idxdims"),
        dtype: fc.oneof(fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e), fc.nat({ max: 255 })),
        dims: fc.array(u32Values((seed.raw ?? seed.bytes).length), { minLength: 0, maxLength: 6 }),
        ndim: fc.option(fc.nat({ max: 255 })),
      }),
    ];
  }
  return [];
}

/** Header field offsets worth hitting with edge values (magic, version, lengths). */
const FIELDS = {
  onebit: [0, 4, 8, 10, 12],
  checkpoint: [0, 4, 8, 12],
  idx: [0, 4, 8, 12],
  cifar: [0],
  onnx: [],
};

/** The arbitrary of mutation plans for one seed. */
export function mutationArb(seed) {
  const raw = seed.gzip ? seed.raw : seed.bytes;
  const ops = [...baseOps(raw.length, FIELDS[seed.format]), ...formatOps(seed)];
  const single = fc.oneof(...ops);
  const plan = fc.oneof(
    { arbitrary: single, weight: 4 },
    {
      arbitrary: fc.record({
        op: fc.constant("combo"),
        steps: fc.array(single, { minLength: 2, maxLength: 3 }),
      }),
      weight: 1,
    },
  );
  if (!seed.gzip) return plan;
  // Gzip seeds: most plans edit the content and recompress; some edit the compressed stream.
  const stream = fc.oneof(
    ...baseOps(seed.bytes.length, [0, 4, seed.bytes.length - 8, seed.bytes.length - 4]),
  );
  return fc.oneof(
    { arbitrary: fc.record({ op: fc.constant("gzip"), inner: plan }), weight: 3 },
    { arbitrary: fc.record({ op: fc.constant("stream"), inner: stream }), weight: 2 },
  );
}

/** The mutated bytes. Pure: the same seed and plan give the same bytes. */
export function applyMutation(seed, plan) {
  if (plan.op === "gzip")
    return new Uint8Array(zlib.gzipSync(applyPlain(seed, seed.raw, plan.inner), { level: 1 }));
  if (plan.op === "stream") return applyPlain({ ...seed, format: "gzip" }, seed.bytes, plan.inner);
  return applyPlain(seed, seed.bytes, plan);
}

function applyPlain(seed, bytes, plan) {
  switch (plan.op) {
    case "combo":
      return plan.steps.reduce((b, step) => applyPlain(seed, b, step), bytes);
    case "truncate":
      return bytes.slice(0, Math.min(plan.at, bytes.length));
    case "flip": {
      const out = bytes.slice();
      for (const bit of plan.bits) if (bit >> 3 < out.length) out[bit >> 3] ^= 1 << (bit & 7);
      return out;
    }
    case "bytes": {
      const out = bytes.slice();
      for (const [at, v] of plan.writes) if (at < out.length) out[at] = v;
      return out;
    }
    case "u32": {
      const out = bytes.slice();
      if (plan.at + 4 <= out.length) new DataView(out.buffer).setUint32(plan.at, plan.value >>> 0, plan.le);
      return out;
    }
    case "append": {
      const out = new Uint8Array(bytes.length + plan.bytes.length);
      out.set(bytes);
      out.set(plan.bytes, bytes.length);
      return out;
    }
    case "splice": {
      const out = bytes.slice();
      const n = Math.min(plan.length, out.length - plan.from, out.length - plan.to);
      if (n > 0) out.copyWithin(plan.to, plan.from, plan.from + n);
      return out;
    }
    case "idxdims":
      return idxDims(bytes, plan);
    case "json":
      return editHeader(seed.format, bytes, (text) => safely(text, () => editJson(text, plan.edits)));
    case "jsontext":
      return editHeader(seed.format, bytes, (text) => plan.edits.reduce(editText, text), false);
    case "header":
      return editHeader(seed.format, bytes, () => plan.text, false);
    default:
      throw new Error(`unknown mutation ${plan.op}`);
  }
}

function idxDims(bytes, plan) {
  const ndim = bytes[3] ?? 0;
  const data = bytes.subarray(Math.min(bytes.length, 4 + 4 * ndim));
  const newNdim = plan.ndim ?? plan.dims.length;
  const out = new Uint8Array(4 + 4 * plan.dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = plan.dtype;
  out[3] = newNdim;
  for (const [i, d] of plan.dims.entries()) view.setUint32(4 + 4 * i, d >>> 0, false);
  out.set(data, 4 + 4 * plan.dims.length);
  return out;
}

function editText(text, { at, remove, insert }) {
  const i = text.length ? at % (text.length + 1) : 0;
  return text.slice(0, i) + insert + text.slice(i + remove);
}

const encoder = new TextEncoder();
const align = (n, a) => Math.ceil(n / a) * a;

/**
 * Replaces the JSON header of a .onebit file or checkpoint by `edit(text)` and re-packs the
 * file: the data keeps its place relative to the data start. For .onebit (absolute section
 * offsets) a longer header moves the data start, and every numeric `sections[i].offset` is
 * shifted by as much (when `shift`), so an edit tests what it edits, not a stale offset.
 */
function editHeader(format, bytes, edit, shift = true) {
  if (bytes.length < 16) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Math.min(view.getUint32(12, true), bytes.length - 16);
  const text = new TextDecoder().decode(bytes.subarray(16, 16 + length));
  const edited = edit(text);
  let next = edited;
  if (format === "checkpoint") {
    const header = encoder.encode(next);
    const padded = align(header.length, 16);
    const out = new Uint8Array(16 + padded + (bytes.length - 16 - length)).fill(0x20, 16, 16 + padded);
    out.set(bytes.subarray(0, 12));
    new DataView(out.buffer).setUint32(12, padded, true);
    out.set(header, 16);
    out.set(bytes.subarray(16 + length), 16 + padded);
    return out;
  }
  const dataStart0 = align(16 + length, 64);
  let dataStart = dataStart0;
  let header = encoder.encode(next);
  for (let round = 0; round < 4 && align(16 + header.length, 64) > dataStart; round++) {
    dataStart = align(16 + header.length, 64);
    if (shift) next = shiftOffsets(edited, dataStart - dataStart0);
    header = encoder.encode(next);
  }
  dataStart = Math.max(dataStart, align(16 + header.length, 64));
  const data = bytes.subarray(Math.min(dataStart0, bytes.length));
  const out = new Uint8Array(dataStart + data.length);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, header.length, true);
  out.set(header, 16);
  out.set(data, dataStart);
  return out;
}

function shiftOffsets(text, delta) {
  if (text.length > 1 << 20) return text;
  try {
    const h = JSON.parse(text);
    if (!Array.isArray(h?.sections)) return text;
    for (const s of h.sections) if (typeof s?.offset === "number") s.offset += delta;
    return JSON.stringify(h);
  } catch {
    return text;
  }
}

/** A header that an earlier edit nested too deeply to re-serialize stays as it is. */
function safely(text, edit) {
  try {
    return edit();
  } catch (e) {
    if (e instanceof RangeError) return text;
    throw e;
  }
}

/** Applies structural edits to JSON text (text that does not parse is returned as is). */
function editJson(text, edits) {
  // A megabyte header is an earlier nesting bomb: parsing it again only slows the fuzzer.
  if (text.length > 1 << 20) return text;
  let root;
  try {
    root = { v: JSON.parse(text) };
  } catch {
    return text;
  }
  const nests = [];
  for (const e of edits) {
    const slots = [];
    collect(root, "v", slots);
    if (slots.length === 0) break;
    const [parent, key] = slots[e.pick % slots.length];
    switch (e.action) {
      case "set":
        parent[key] = structuredClone(e.value);
        break;
      case "delete":
        if (Array.isArray(parent)) parent.splice(key, 1);
        else if (parent !== root) delete parent[key];
        break;
      case "dup":
        if (Array.isArray(parent))
          parent.splice(key, 0, ...Array.from({ length: e.times }, () => parent[key]));
        break;
      case "copy": {
        const [p2, k2] = slots[e.from % slots.length];
        parent[key] = structuredClone(p2[k2]);
        break;
      }
      case "num":
        if (typeof parent[key] === "number") parent[key] = nudge(parent[key], e.how);
        break;
      case "nest":
        nests.push(e.depth);
        parent[key] = `${NEST}${nests.length - 1}`;
        break;
    }
  }
  let out = JSON.stringify(root.v);
  // Deep nesting is spliced in as text: JSON.stringify itself would overflow the stack.
  nests.forEach((depth, i) => {
    out = out.replace(JSON.stringify(`${NEST}${i}`), "[".repeat(depth) + "]".repeat(depth));
  });
  return out;
}

/** Every [parent, key] slot under parent[key], depth first, iteratively (headers may nest deep). */
function collect(parent, key, out) {
  const stack = [[parent, key]];
  while (stack.length && out.length < 100_000) {
    const [p, k] = stack.pop();
    out.push([p, k]);
    const v = p[k];
    if (v !== null && typeof v === "object") {
      const keys = Array.isArray(v) ? [...v.keys()] : Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push([v, keys[i]]);
    }
  }
}

function nudge(v, how) {
  switch (how) {
    case "+1":
      return v + 1;
    case "-1":
      return v - 1;
    case "*2":
      return v * 2;
    case "neg":
      return -v;
    case "+64":
      return v + 64;
    case "-64":
      return v - 64;
    case "*1000":
      return v * 1000;
    default:
      return v / 2;
  }
}
