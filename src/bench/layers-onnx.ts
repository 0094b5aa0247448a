/**
 * A minimal ONNX model writer for the layer benchmarks: one Conv or MatMul node with its
 * weight as an initializer, serialized as protobuf by hand (the few ModelProto fields
 * needed; field numbers from onnx/onnx.proto). Enough for onnxruntime to load.
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

function intsAttribute(w: Writer, name: string, values: number[]): void {
  w.message(5, (a) => {
    a.string(1, name);
    for (const v of values) a.int(8, v);
    a.int(20, ATTR_INTS);
  });
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

/** A ModelProto (IR 8, opset 13) computing y = op(x, w). */
export function onnxModel(node: OnnxNode): Uint8Array {
  return new Writer()
    .int(1, 8)
    .string(2, "onebit-bench")
    .message(7, (g) => {
      g.message(1, (n) => {
        n.string(1, "x");
        n.string(1, "w");
        n.string(2, "y");
        n.string(3, "node");
        n.string(4, node.op);
        for (const [name, values] of Object.entries(node.attributes ?? {})) intsAttribute(n, name, values);
      });
      g.string(2, "graph");
      g.message(5, (t) => {
        for (const d of node.weight.shape) t.int(1, d);
        t.int(2, FLOAT);
        t.string(8, "w");
        const d = node.weight.data;
        t.bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      });
      valueInfo(g, 11, "x", node.input);
      valueInfo(g, 12, "y", node.output);
    })
    .message(8, (o) => {
      o.string(1, "");
      o.int(2, 13);
    })
    .finish();
}
