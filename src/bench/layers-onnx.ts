/**
 * A minimal ONNX model writer for the benchmarks' float peers: a float32 graph of nodes
 * with initializers, serialized as protobuf by hand (the few ModelProto fields needed;
 * field numbers from onnx/onnx.proto). Enough for onnxruntime to load.
 */

/** Protobuf writer: varints, length-delimited fields and nested messages. */
class Writer {
  private readonly parts: number[] = [];
  private chunks: Uint8Array[] = [];

  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.parts.length = 0;
    }
  }

  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (x > 0n);
    return this;
  }

  private key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }

  /** A float32 field (wire type 5, little-endian). */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    this.flush();
    this.chunks.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    this.flush();
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function valueInfo(w: Writer, field: number, name: string, shape: number[]): void {
  w.message(field, (v) => {
    v.string(1, name);
    v.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT);
        tensor.message(2, (s) => {
          for (const d of shape) s.message(1, (dim) => dim.int(1, d));
        });
      }),
    );
  });
}

/** An attribute: a list of ints, one int ({ int }) or one float ({ float }). */
export type OnnxAttribute = number[] | { int: number } | { float: number };

function attribute(w: Writer, name: string, value: OnnxAttribute): void {
  w.message(5, (a) => {
    a.string(1, name);
    if (Array.isArray(value)) {
      for (const v of value) a.int(8, v);
      a.int(20, ATTR_INTS);
    } else if ("int" in value) {
      a.int(3, value.int);
      a.int(20, ATTR_INT);
    } else {
      a.float(2, value.float);
      a.int(20, ATTR_FLOAT);
    }
  });
}

export interface OnnxGraph {
  nodes: { op: string; inputs: string[]; outputs: string[]; attributes?: Record<string, OnnxAttribute> }[];
  initializers: { name: string; shape: number[]; data: Float32Array }[];
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
}

/** A ModelProto (IR 8, opset 13) of a float32 graph with one input and one output. */
export function onnxGraph(graph: OnnxGraph): Uint8Array {
  return new Writer()
    .int(1, 8)
    .string(2, "onebit-bench")
    .message(7, (g) => {
      graph.nodes.forEach((node, i) => {
        g.message(1, (n) => {
          for (const x of node.inputs) n.string(1, x);
          for (const y of node.outputs) n.string(2, y);
          n.string(3, `node${i}`);
          n.string(4, node.op);
          for (const [name, value] of Object.entries(node.attributes ?? {})) attribute(n, name, value);
        });
      });
      g.string(2, "graph");
      for (const init of graph.initializers) {
        g.message(5, (t) => {
          for (const d of init.shape) t.int(1, d);
          t.int(2, FLOAT);
          t.string(8, init.name);
          const d = init.data;
          t.bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        });
      }
      valueInfo(g, 11, graph.input.name, graph.input.shape);
      valueInfo(g, 12, graph.output.name, graph.output.shape);
    })
    .message(8, (o) => {
      o.string(1, "");
      o.int(2, 13);
    })
    .finish();
}

export interface OnnxNode {
  op: "Conv" | "MatMul";
  /** Input "x" shape. */
  input: number[];
  /** Weight "w" shape and values. */
  weight: { shape: number[]; data: Float32Array };
  output: number[];
  attributes?: Record<string, number[]>;
}

/** A one-node model y = op(x, w). */
export function onnxModel(node: OnnxNode): Uint8Array {
  return onnxGraph({
    nodes: [{ op: node.op, inputs: ["x", "w"], outputs: ["y"], attributes: node.attributes }],
    initializers: [{ name: "w", ...node.weight }],
    input: { name: "x", shape: node.input },
    output: { name: "y", shape: node.output },
  });
}
