/**
 * ONNX graph (after import-patterns) -> engine layers. Nodes run in file (topological)
 * order; nodes on constants only are evaluated (import-const). Each value a node computes
 * is a chain state (below) at an engine layer: a node continues the chain of its input,
 * or, when that input is not the value just computed, resumes the input's saved chain
 * (the engine layer then names its `inputs`). A value read by several nodes is made
 * float or bits first (no pending layer) and its layer is never changed in place. Add and
 * Concat of two or more values join chains into an engine add / concat. The walker keeps
 * each value in one of three states:
 * - float: the engine holds the ONNX values (float layers, batch norms as multiply-adds);
 * - bits: the ONNX values are +/-1 and the engine holds them packed;
 * - pending: a binary layer's integer dot is waiting for what follows (import-fold).
 * A Conv or Gemm/MatMul on bits with weights +/-alpha per output channel is a binary
 * layer; on floats it is a float layer (+/-1 weights included). Anything the engine
 * cannot express is an OnnxError naming the node; no partial model is returned.
 *
 * This file holds the walker's state and its graph moves (entering values, joins,
 * reshapes); import-windows.ts converts convolutions, pools and Pad nodes, and
 * import-chain.ts the binary chain states (binarizations, the pending layer, flips, unpacks,
 * per-channel affines). Their functions take the walker, whose state is open to them.
 */
import type { ActivationSpec } from "../engine/model.js";
import { binarize, flush, monotone, perChannelOp, unpack } from "./import-chain.js";
import { evalConst, reshapeTarget } from "./import-const.js";
import { type Emitter, f32 } from "./import-emit.js";
import type { Pending } from "./import-fold.js";
import type { ImportGraph, Node } from "./import-graph.js";
import { type Activation, channelDim, flattenOrder, isImage, perChannel } from "./import-layout.js";
import { SUPPORTED_OPS } from "./import-ops.js";
import { paddedDims, padNode, pool, weightLayer } from "./import-windows.js";
import { OnnxError } from "./onnx-proto.js";
import type { Const } from "./onnx-tensor.js";
import type { BinarizeProbe } from "./verify-onnx.js";

type Mode = "float" | "bits" | "pending";

/** A value's chain state (see the module doc) and the engine layer holding it. */
interface Chain {
  act: Activation;
  mode: Mode;
  pending?: Pending;
  pad?: { pads: number[]; value: number; node: Node };
  negate?: Uint8Array;
  at: string;
  spec: ActivationSpec;
}

export interface ConvertResult {
  emitter: Emitter;
  warnings: string[];
}

const PER_CHANNEL_OPS = new Set(["Add", "Sub", "Mul", "Div", "Neg", "BatchNormalization"]);

export class Walker {
  mode: Mode = "float";
  pending?: Pending;
  pad?: { pads: number[]; value: number; node: Node };
  /**
   * Bits only: channels (features for vectors, engine order) whose ONNX value is the
   * negation of the engine's bit, from a Mul by -1 on binarized values. The next binary
   * layer absorbs it into its weights; a bit max-pool pools those channels by AND.
   */
  negate?: Uint8Array;
  /** Between Cast(to double) and Cast(to float) at the input: multiply-adds go into the input layer. */
  double = false;
  readonly warnings: string[] = [];
  /** Engine bitpack layers and the ONNX values they binarize (for diagnosing disagreements). */
  readonly probes: BinarizeProbe[] = [];
  readonly values = new Map<string, Const>();
  /** How many nodes read each value (Shape nodes, which read only its dims, not counted). */
  readonly uses = new Map<string, number>();
  /** Saved chains of values not being continued now. */
  readonly held = new Map<string, Chain>();
  /** Values read by several nodes: their saved chain is final. */
  readonly shared = new Set<string>();

  constructor(
    readonly graph: ImportGraph,
    readonly e: Emitter,
    public act: Activation,
  ) {
    for (const [k, v] of graph.constants) this.values.set(k, v);
    const count = (name: string) => this.uses.set(name, (this.uses.get(name) ?? 0) + 1);
    for (const n of graph.nodes) if (n.op !== "Shape") for (const i of new Set(n.inputs)) count(i);
    count(graph.output);
  }

  save(): Chain {
    const { act, mode, pending, pad, negate } = this;
    return { act, mode, pending, pad, negate, at: this.e.at!, spec: this.e.act };
  }

  restore(c: Chain): void {
    this.act = c.act;
    this.mode = c.mode;
    this.pending = c.pending;
    this.pad = c.pad;
    this.negate = c.negate;
    this.e.seek(c.at, c.spec);
  }

  /**
   * Makes `name` the current value: the chain goes on, or the current chain is saved and
   * the value's restored. A value with several readers is settled first (a pending binary
   * layer emitted with its affine output) and its layer marked shared.
   */
  enter(name: string, node: Node): void {
    if (name !== this.act.name) {
      if (!this.shared.has(this.act.name)) this.held.set(this.act.name, this.save());
      const c = this.held.get(name);
      if (!c)
        this.fail(
          node,
          `reads '${name}', which no earlier node computes (nodes must be in topological order)`,
        );
      this.restore(c);
    }
    if ((this.uses.get(name) ?? 0) > 1 && !this.shared.has(name)) {
      if (this.pad) this.fail(node, `the padded value '${name}' is read by more than one node`);
      if (this.mode === "pending") flush(this);
      this.e.share();
      this.shared.add(name);
      this.held.set(name, this.save());
    }
  }

  where(node: Node): string {
    return `${this.graph.file}: ${node.label}`;
  }

  fail(node: Node, message: string): never {
    throw new OnnxError(`${this.where(node)}: ${message}`);
  }

  name(node: Node): string {
    return `${node.name || node.op}#${node.index}`;
  }

  run(): Activation {
    for (const node of this.graph.nodes) this.visit(node);
    if (this.act.name !== this.graph.output) {
      const c = this.held.get(this.graph.output);
      if (!c) {
        throw new OnnxError(
          `${this.graph.file}: the graph output '${this.graph.output}' is not computed from the input`,
        );
      }
      this.restore(c);
    }
    if (this.mode === "pending") flush(this);
    if (this.e.at !== this.e.layers.at(-1)!.name) {
      throw new OnnxError(
        `${this.graph.file}: the graph output '${this.graph.output}' is not the last value computed (the engine's scores are its last layer)`,
      );
    }
    if (this.mode === "bits") {
      throw new OnnxError(
        `${this.graph.file}: the model ends in binary (+/-1) values; the engine needs float scores`,
      );
    }
    return this.act;
  }

  visit(node: Node): void {
    const inputs = node.inputs.map((i) => (i === "" ? undefined : this.values.get(i)));
    const live = node.inputs.filter((i, k) => i !== "" && !inputs[k]);
    if (live.length === 0) {
      const c = evalConst(node, inputs, this.graph);
      if (!c) this.fail(node, `op '${node.op}' on constants is not supported`);
      this.values.set(node.outputs[0]!, c);
      return;
    }
    if (node.op === "Shape") {
      const dims = (live[0] === this.act.name ? this.act : this.held.get(live[0]!)?.act)?.dims;
      if (!dims) this.fail(node, `reads '${live[0]}', which no earlier node computes`);
      this.values.set(node.outputs[0]!, {
        kind: "int",
        shape: [dims.length + 1],
        data: Float64Array.from([Number.NaN, ...dims]),
      });
      return;
    }
    if (live.length > 1) {
      this.join(node, live);
      return;
    }
    this.enter(live[0]!, node);
    if (this.double && !["Cast", "Mul", "Add", "Sub", "Transpose", "Identity"].includes(node.op)) {
      this.fail(
        node,
        "float64 activations are supported only for input preprocessing (Mul, Add, Sub by constants)",
      );
    }
    if (this.pad && !["Binarize", "Conv", "MaxPool"].includes(node.op)) {
      this.fail(node, `a Pad (${this.pad.node.label}) must be followed by a Conv or a MaxPool`);
    }
    const next = (dims: number[] = this.act.dims, extra: Partial<Activation> = {}) => {
      this.act = { name: node.outputs[0]!, dims, axes: this.act.axes, order: this.act.order, ...extra };
    };
    const konst = (i: number) => inputs[i];
    switch (node.op) {
      case "Identity":
      case "Dropout":
        next();
        return;
      case "Cast": {
        const to = node.int("to", 1);
        if (to === 11) {
          if (this.e.layers.length !== 1)
            this.fail(node, "float64 is supported only for input preprocessing");
          this.double = true;
        } else if (to === 1 || to === 10) this.double = false;
        else this.fail(node, "casts activations to a non-float type");
        next();
        return;
      }
      case "Binarize":
        binarize(this, node);
        next();
        return;
      case "Conv":
      case "Gemm":
      case "MatMul":
        weightLayer(this, node, inputs);
        return;
      case "Relu":
      case "Clip":
        monotone(this, node, inputs);
        next();
        return;
      case "MaxPool":
      case "AveragePool":
      case "GlobalAveragePool":
        pool(this, node);
        return;
      case "Flatten":
        if (node.int("axis", 1) !== 1) this.fail(node, "only Flatten(axis = 1) is supported");
        this.flatten(node);
        return;
      case "Reshape":
      case "Squeeze":
        this.reshape(node, konst(1));
        return;
      case "Transpose": {
        const perm = node.ints("perm") ?? [];
        if (perm[0] !== 0 || perm.length !== this.act.dims.length + 1)
          this.fail(node, `perm [${perm}] must keep the batch axis first`);
        const p = perm.slice(1).map((d) => d - 1);
        next(
          p.map((d) => this.act.dims[d]!),
          { axes: p.map((d) => this.act.axes[d]!) },
        );
        return;
      }
      case "Pad":
        padNode(this, node, inputs);
        next(paddedDims(this));
        return;
      case "PRelu": {
        if (this.mode === "pending") flush(this);
        if (this.mode === "bits") unpack(this, node);
        const slope = konst(1);
        const alpha = slope ? perChannel(slope, this.act) : undefined;
        if (!alpha || node.inputs[0] !== this.act.name)
          this.fail(node, `the slope must be a constant per channel (got [${slope?.shape ?? "activation"}])`);
        this.e.push({ kind: "prelu", name: this.name(node), alpha: f32(alpha) });
        next();
        return;
      }
      case "Softmax": {
        const axis = node.int("axis", this.graph.opset >= 13 ? -1 : 1);
        if (this.mode === "pending") flush(this);
        if (isImage(this.act) || (axis !== -1 && axis !== 1) || this.mode !== "float")
          this.fail(node, "Softmax is supported over the features of a float vector");
        this.e.push({ kind: "softmax", name: this.name(node) });
        next();
        return;
      }
      default:
        if (PER_CHANNEL_OPS.has(node.op)) {
          perChannelOp(this, node, inputs);
          next();
          return;
        }
        this.fail(node, `op '${node.op}' is not supported. Supported ops: ${SUPPORTED_OPS.join(", ")}`);
    }
  }

  /** Add or Concat of two or more values: an engine add / concat of their (float) layers. */
  join(node: Node, live: string[]): void {
    if (node.op !== "Add" && node.op !== "Concat") {
      this.fail(
        node,
        `op '${node.op}' on ${live.length} activations ('${live.join("', '")}') is not supported; ` +
          "onebit joins branches with Add (residual) and Concat (channels)",
      );
    }
    const srcs = live.map((name) => {
      this.enter(name, node);
      if (this.pad) this.fail(node, `a Pad (${this.pad.node.label}) must be followed by a Conv or a MaxPool`);
      if (this.mode === "pending") flush(this);
      if (this.mode === "bits") unpack(this, node);
      return { act: this.act, at: this.e.at!, spec: this.e.act };
    });
    const first = srcs[0]!.act;
    const same = (a: Activation, b: Activation, skip: number) =>
      a.axes.join() === b.axes.join() &&
      a.dims.length === b.dims.length &&
      a.dims.every((d, i) => i === skip || d === b.dims[i]) &&
      (a.order ?? []).join() === (b.order ?? []).join();
    let dims = first.dims;
    if (node.op === "Add") {
      for (const s of srcs) {
        if (!same(first, s.act, -1))
          this.fail(
            node,
            `adds [${first.dims}] and [${s.act.dims}]: a residual Add needs two values of one shape and layout`,
          );
      }
      this.e.join(
        { kind: "add", name: this.name(node) },
        srcs.map((s) => ({ at: s.at, act: s.spec })),
      );
    } else {
      const rank = first.dims.length + 1;
      const raw = node.int("axis", 1);
      const axis = raw < 0 ? raw + rank : raw;
      const cd = channelDim(first) + 1;
      if (axis !== cd) this.fail(node, `Concat along axis ${raw}; onebit concatenates channels (axis ${cd})`);
      for (const s of srcs) {
        if (!same(first, s.act, cd - 1) || (!isImage(s.act) && s.act.order))
          this.fail(node, `concatenates [${first.dims}] and [${s.act.dims}]: only the channels may differ`);
      }
      dims = [...first.dims];
      dims[cd - 1] = srcs.reduce((c, s) => c + s.act.dims[cd - 1]!, 0);
      this.e.join(
        { kind: "concat", name: this.name(node) },
        srcs.map((s) => ({ at: s.at, act: s.spec })),
      );
    }
    this.mode = "float";
    this.pending = undefined;
    this.negate = undefined;
    this.act = { name: node.outputs[0]!, dims, axes: first.axes };
  }

  flatten(node: Node): void {
    const order = flattenOrder(this.act);
    if (this.negate && isImage(this.act)) {
      const c = this.negate.length;
      const n = this.negate;
      this.negate = Uint8Array.from(
        { length: this.act.dims.reduce((x, y) => x * y, 1) },
        (_, i) => n[i % c]!,
      );
    }
    const size = this.act.dims.reduce((a, b) => a * b, 1);
    if (isImage(this.act)) {
      if (this.mode === "pending") this.pending!.steps.push({ kind: "flatten", node });
      else this.e.push({ kind: "flatten", name: this.name(node) });
    }
    this.act = { name: node.outputs[0]!, dims: [size], axes: [0], order };
  }

  reshape(node: Node, target: Const | undefined): void {
    let out: number[];
    if (node.op === "Squeeze") {
      out = this.act.dims.filter((d) => d !== 1);
    } else {
      if (!target)
        this.fail(node, "the target shape must be computable from constants and the input's shape");
      const t = Array.from(target.data);
      if (!(Number.isNaN(t[0]!) || t[0] === -1 || t[0] === 0))
        this.fail(node, `target [${t}] must keep the batch dimension first`);
      out = reshapeTarget([1, ...this.act.dims], [1, ...t.slice(1)], this.where(node)).slice(1);
    }
    if (out.join() === this.act.dims.join()) {
      this.act = { ...this.act, name: node.outputs[0]! };
      return;
    }
    if (out.length !== 1)
      this.fail(node, `reshaping [${this.act.dims}] to [${out}] (only flattening is supported)`);
    this.flatten(node);
  }
}
