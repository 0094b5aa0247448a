/**
 * The ONNX graph as the importer sees it: the opset checked, nodes with typed attribute
 * access and a label for errors ("node 7 'Conv_3' (Conv)"), initializers and Constant
 * nodes as constants, and the single graph input and output.
 */
import { type OnnxAttribute, OnnxError, type OnnxModel, type OnnxNode } from "./onnx-proto.js";
import { type Const, readTensor } from "./onnx-tensor.js";

/** The ai.onnx opsets the importer reads (attribute/input forms differ across them). */
export const OPSET_RANGE = { min: 9, max: 22 } as const;

export class Node {
  readonly op: string;
  readonly name: string;
  /** Position in the file's node list (0-based). */
  readonly index: number;
  inputs: string[];
  readonly outputs: string[];
  readonly attrs: Map<string, OnnxAttribute>;
  /** The file's op this node was derived from (labels show it). */
  readonly sourceOp: string;

  constructor(proto: OnnxNode, index: number, op = proto.opType, sourceOp = op) {
    this.op = op;
    this.sourceOp = sourceOp;
    this.name = proto.name ?? "";
    this.index = index;
    this.inputs = [...(proto.input ?? [])];
    this.outputs = [...(proto.output ?? [])];
    this.attrs = new Map((proto.attribute ?? []).map((a) => [a.name, a]));
  }

  /** "node 7 'Conv_3' (Conv)" */
  get label(): string {
    return `node ${this.index}${this.name ? ` '${this.name}'` : ""} (${this.sourceOp})`;
  }

  int(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a?.i !== undefined ? Number(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a?.f !== undefined ? a.f : fallback;
  }

  ints(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
  }

  string(name: string, fallback: string): string {
    const s = this.attrs.get(name)?.s;
    return s && s.length > 0 ? new TextDecoder().decode(s) : fallback;
  }

  /** A node of the importer's own (e.g. Binarize) replacing this one, keeping its name and position. */
  derive(op: string, inputs: string[], attrs: Record<string, number> = {}, output?: string): Node {
    const outputs = output ? [output] : this.outputs;
    const n = new Node(
      { opType: op, name: this.name, input: inputs, output: outputs },
      this.index,
      op,
      this.sourceOp,
    );
    for (const [k, v] of Object.entries(attrs)) n.attrs.set(k, { name: k, i: v });
    return n;
  }
}

export interface GraphIO {
  name: string;
  /** Dimensions; undefined entries are symbolic (dim_param) or missing. */
  dims: (number | undefined)[];
}

export interface ImportGraph {
  file: string;
  opset: number;
  producer: string;
  nodes: Node[];
  constants: Map<string, Const>;
  input: GraphIO;
  output: string;
  /**
   * Elements the importer may still compute as constants (import-const's evalConst draws
   * on it): 8 times the file's own constants and 2^16 more (ReActNet's weights
   * alpha * sign(w) - clamp(w) + clamp(w) take 5 times theirs, computed in the binarization
   * pass and again while converting), so that a small file cannot make
   * the importer allocate without bound (a ConstantOfShape of [1e9], a broadcast of [N, 1]
   * against [1, M], long chains of elementwise ops).
   */
  constBudget: { left: number };
}

/** Checks the opset and collects nodes, constants and the graph input/output. */
export function readGraph(model: OnnxModel, file: string): ImportGraph {
  const onnxSets = model.opsetImport.filter((o) => !o.domain || o.domain === "ai.onnx");
  if (onnxSets.length !== 1) throw new OnnxError(`${file}: the model imports no ai.onnx opset`);
  const opset = Number(onnxSets[0]!.version);
  if (opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
    throw new OnnxError(
      `${file}: ai.onnx opset ${opset} is not supported; onebit imports opsets ${OPSET_RANGE.min} to ${OPSET_RANGE.max} ` +
        "(re-export with e.g. torch.onnx.export(..., opset_version=13))",
    );
  }
  const g = model.graph;
  const constants = new Map<string, Const>();
  for (const t of g.initializer)
    constants.set(t.name ?? "", readTensor(t, `${file}: initializer '${t.name}'`));
  const nodes: Node[] = [];
  g.node.forEach((proto, index) => {
    const node = new Node(proto, index);
    if (proto.domain && proto.domain !== "ai.onnx") {
      throw new OnnxError(
        `${file}: ${node.label}: op domain '${proto.domain}' is not supported (ai.onnx only)`,
      );
    }
    if (node.op === "Constant") {
      const t = node.attrs.get("value")?.t;
      const a =
        node.attrs.get("value_float") ??
        node.attrs.get("value_floats") ??
        node.attrs.get("value_int") ??
        node.attrs.get("value_ints");
      let c: Const | undefined;
      if (t) c = readTensor(t, `${file}: ${node.label}`);
      else if (a?.f !== undefined) c = { kind: "float", shape: [], data: Float64Array.of(a.f) };
      else if (a?.i !== undefined) c = { kind: "int", shape: [], data: Float64Array.of(Number(a.i)) };
      else if (a?.floats?.length)
        c = { kind: "float", shape: [a.floats.length], data: Float64Array.from(a.floats) };
      else if (a?.ints?.length)
        c = { kind: "int", shape: [a.ints.length], data: Float64Array.from(a.ints.map(Number)) };
      if (!c) throw new OnnxError(`${file}: ${node.label}: unsupported Constant form`);
      constants.set(node.outputs[0]!, c);
      return;
    }
    nodes.push(node);
  });
  const inputs = g.input.filter((v) => !constants.has(v.name));
  if (inputs.length !== 1) {
    throw new OnnxError(
      `${file}: the graph has ${inputs.length} inputs (${inputs.map((v) => v.name).join(", ")}); onebit imports models with one image input`,
    );
  }
  if (g.output.length !== 1) {
    throw new OnnxError(
      `${file}: the graph has ${g.output.length} outputs; onebit imports models with one scores output`,
    );
  }
  const dims = (inputs[0]!.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : undefined,
  );
  return {
    file,
    opset,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(" "),
    nodes,
    constants,
    input: { name: inputs[0]!.name, dims },
    output: g.output[0]!.name,
    constBudget: { left: 8 * [...constants.values()].reduce((n, c) => n + c.data.length, 0) + (1 << 16) },
  };
}

/** Removes nodes whose outputs nothing reads (repeatedly), keeping the graph output's producers. */
export function removeDead(graph: ImportGraph): void {
  for (;;) {
    const used = new Set<string>([graph.output]);
    for (const n of graph.nodes) for (const i of n.inputs) used.add(i);
    const before = graph.nodes.length;
    graph.nodes = graph.nodes.filter((n) => n.outputs.some((o) => used.has(o)));
    if (graph.nodes.length === before) return;
  }
}
