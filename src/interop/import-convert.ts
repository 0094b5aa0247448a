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
 */
import type { ActivationSpec, BinaryPadValue, InputLayer, Padding } from "../engine/model.js";
import { bwnWeights } from "../export/convert.js";
import { packFlags, packSigns, unpackSigns } from "../kernels/bits.js";
import { convGeometry } from "../kernels/geometry.js";
import { affineOf } from "./import-affine.js";
import { evalConst, reshapeTarget } from "./import-const.js";
import { type Draft, type Emitter, f32 } from "./import-emit.js";
import { foldPending, type Pending, type PoolSpec, type Step } from "./import-fold.js";
import type { ImportGraph, Node } from "./import-graph.js";
import {
  type Activation,
  channelDim,
  engineShape,
  flattenOrder,
  isImage,
  NCHW,
  nodePads,
  paddingOf,
  perChannel,
} from "./import-layout.js";
import { poolSpecOf, SUPPORTED_OPS } from "./import-ops.js";
import { binaryWeights, readWeights } from "./import-weights.js";
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
  private mode: Mode = "float";
  private pending?: Pending;
  private pad?: { pads: number[]; value: number; node: Node };
  /**
   * Bits only: channels (features for vectors, engine order) whose ONNX value is the
   * negation of the engine's bit, from a Mul by -1 on binarized values. The next binary
   * layer absorbs it into its weights; a bit max-pool pools those channels by AND.
   */
  private negate?: Uint8Array;
  /** Between Cast(to double) and Cast(to float) at the input: multiply-adds go into the input layer. */
  private double = false;
  readonly warnings: string[] = [];
  /** Engine bitpack layers and the ONNX values they binarize (for diagnosing disagreements). */
  readonly probes: BinarizeProbe[] = [];
  readonly values = new Map<string, Const>();
  /** How many nodes read each value (Shape nodes, which read only its dims, not counted). */
  private readonly uses = new Map<string, number>();
  /** Saved chains of values not being continued now. */
  private readonly held = new Map<string, Chain>();
  /** Values read by several nodes: their saved chain is final. */
  private readonly shared = new Set<string>();

  constructor(
    private readonly graph: ImportGraph,
    readonly e: Emitter,
    private act: Activation,
  ) {
    for (const [k, v] of graph.constants) this.values.set(k, v);
    const count = (name: string) => this.uses.set(name, (this.uses.get(name) ?? 0) + 1);
    for (const n of graph.nodes) if (n.op !== "Shape") for (const i of new Set(n.inputs)) count(i);
    count(graph.output);
  }

  private save(): Chain {
    const { act, mode, pending, pad, negate } = this;
    return { act, mode, pending, pad, negate, at: this.e.at!, spec: this.e.act };
  }

  private restore(c: Chain): void {
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
  private enter(name: string, node: Node): void {
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
      if (this.mode === "pending") this.flush();
      this.e.share();
      this.shared.add(name);
      this.held.set(name, this.save());
    }
  }

  private where(node: Node): string {
    return `${this.graph.file}: ${node.label}`;
  }

  private fail(node: Node, message: string): never {
    throw new OnnxError(`${this.where(node)}: ${message}`);
  }

  private name(node: Node): string {
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
    if (this.mode === "pending") this.flush();
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

  private visit(node: Node): void {
    const inputs = node.inputs.map((i) => (i === "" ? undefined : this.values.get(i)));
    const live = node.inputs.filter((i, k) => i !== "" && !inputs[k]);
    if (live.length === 0) {
      const c = evalConst(node, inputs, this.graph.opset);
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
        this.binarize(node);
        next();
        return;
      case "Conv":
      case "Gemm":
      case "MatMul":
        this.weightLayer(node, inputs);
        return;
      case "Relu":
      case "Clip":
        this.monotone(node, inputs);
        next();
        return;
      case "MaxPool":
      case "AveragePool":
      case "GlobalAveragePool":
        this.pool(node);
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
        this.padNode(node, inputs);
        next(this.paddedDims());
        return;
      case "PRelu": {
        if (this.mode === "pending") this.flush();
        if (this.mode === "bits") this.unpack(node);
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
        if (this.mode === "pending") this.flush();
        if (isImage(this.act) || (axis !== -1 && axis !== 1) || this.mode !== "float")
          this.fail(node, "Softmax is supported over the features of a float vector");
        this.e.push({ kind: "softmax", name: this.name(node) });
        next();
        return;
      }
      default:
        if (PER_CHANNEL_OPS.has(node.op)) {
          this.perChannelOp(node, inputs);
          next();
          return;
        }
        this.fail(node, `op '${node.op}' is not supported. Supported ops: ${SUPPORTED_OPS.join(", ")}`);
    }
  }

  /** Add or Concat of two or more values: an engine add / concat of their (float) layers. */
  private join(node: Node, live: string[]): void {
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
      if (this.mode === "pending") this.flush();
      if (this.mode === "bits") this.unpack(node);
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

  private paddedDims(): number[] {
    if (!this.pad) return this.act.dims;
    const p = this.pad.pads;
    const d = [...this.act.dims];
    d[1] = d[1]! + p[0]! + p[2]!;
    d[2] = d[2]! + p[1]! + p[3]!;
    return d;
  }

  private padNode(node: Node, inputs: (Const | undefined)[]): void {
    if (!isImage(this.act) || this.act.axes.join() !== NCHW.join())
      this.fail(node, "Pad is supported on NCHW images");
    if (node.string("mode", "constant") !== "constant") this.fail(node, "only constant padding is supported");
    const pads = this.graph.opset >= 11 ? Array.from(inputs[1]?.data ?? []) : (node.ints("pads") ?? []);
    const value = this.graph.opset >= 11 ? (inputs[2]?.data[0] ?? 0) : node.float("value", 0);
    // [N, C, H, W] begins then ends: only H and W may be padded.
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0))
      this.fail(node, `pads [${pads}] must pad only height and width, by non-negative amounts`);
    if (this.mode === "pending") this.flush();
    if (this.mode === "bits" && ![-1, 0, 1].includes(value))
      this.fail(node, `pad value ${value} on binary activations must be -1, 0 or +1`);
    if (this.negate && value !== 0) this.fail(node, "a +/-1 pad value on sign-flipped binary channels");
    if (pads.every((p) => p === 0)) return; // PyTorch writes these before an unpadded AvgPool2d
    this.pad = { pads: [pads[2]!, pads[3]!, pads[6]!, pads[7]!], value, node };
  }

  private binarize(node: Node): void {
    const zero = node.int("zero", 0);
    if (this.pad && this.mode === "float") {
      const v = this.pad.value;
      this.pad.value = v > 0 ? 1 : v < 0 ? -1 : zero;
    }
    if (this.mode === "bits") return;
    if (this.mode === "pending") {
      const p = this.pending!;
      const fold = foldPending(p, zero, this.name(node));
      this.e.push({ ...p.draft, output: fold.output });
      for (const d of fold.after) this.e.push(d);
      if (fold.ternaryChannels > 0) {
        this.warnings.push(
          `${this.where(node)}: Sign gives 0 at an integer pre-activation in ${fold.ternaryChannels} channel(s); ` +
            "onebit's sign(0) is +1, so images that hit it exactly may score differently",
        );
      }
      this.pending = undefined;
      this.mode = "bits";
      return;
    }
    if (zero !== 1) {
      this.warnings.push(
        `${this.where(node)}: the graph binarizes exactly 0 to ${zero}, onebit's bitpack to +1 (differs only on exact zeros)`,
      );
    }
    this.e.push({ kind: "bitpack", name: this.name(node) });
    const { dims, axes, order } = this.act;
    this.probes.push({
      layer: this.e.layers.at(-1)!.name,
      onnx: node.inputs[0]!,
      zero,
      dims,
      axes,
      ...(order ? { order } : {}),
    });
    this.mode = "bits";
  }

  private monotone(node: Node, inputs: (Const | undefined)[]): void {
    if (this.mode === "bits") this.fail(node, `${node.op} on binary (+/-1) activations`);
    if (node.op === "Relu") {
      if (this.mode === "pending") this.pending!.steps.push({ kind: "relu", node });
      else this.e.push({ kind: "relu", name: this.name(node) });
      return;
    }
    const lo = this.graph.opset >= 11 ? (inputs[1]?.data[0] ?? -Infinity) : node.float("min", -Infinity);
    const hi = this.graph.opset >= 11 ? (inputs[2]?.data[0] ?? Infinity) : node.float("max", Infinity);
    if (this.mode === "pending") {
      this.pending!.steps.push({ kind: "clip", lo, hi, node });
      return;
    }
    this.fail(node, "Clip on float activations has no engine layer unless a binarization follows it");
  }

  private perChannelOp(node: Node, inputs: (Const | undefined)[]): void {
    const { a, b } = affineOf(node, inputs, this.act, this.where(node));
    const channels = a.length;
    if (this.double) {
      // The input layer computes fround(raw * scale + offset) in float64, as this graph does.
      const input = this.e.layers[0] as InputLayer;
      const expand = (v: number[]) => (v.length === 1 ? new Array<number>(channels).fill(v[0]!) : v);
      input.scale = expand(input.scale).map((v, j) => v * a[j]!);
      input.offset = expand(input.offset).map((v, j) => v * a[j]! + b[j]!);
      return;
    }
    if (this.mode === "bits") {
      if (a.every((v) => v === 1 || v === -1) && b.every((v) => v === 0)) {
        this.negateBits(a);
        return;
      }
      this.unpack(node);
    }
    if (this.mode === "pending") {
      // Per-feature constants after flattening an image are not per output channel: no fold.
      if (a.length === this.pending!.outC) {
        this.pending!.steps.push({ kind: "affine", a, b, node });
        return;
      }
      this.flush();
    }
    // A bias Add right after a float layer without one is the layer's bias (same float32 sum).
    const last = this.e.tip();
    if (
      node.op === "Add" &&
      (last?.kind === "float_dense" ||
        last?.kind === "float_conv2d" ||
        last?.kind === "bwn_conv2d" ||
        last?.kind === "bwn_dense") &&
      !last.bias &&
      this.e.layers.length > 1
    ) {
      last.bias = f32(b);
      return;
    }
    this.e.affine(this.name(node), a, b);
  }

  /** Bits -> +/-1 floats (an engine unpack layer). */
  private unpack(node: Node): void {
    if (this.negate) this.fail(node, "sign-flipped binary channels into a float layer");
    this.e.push({ kind: "unpack", name: `${this.name(node)}.unpack` });
    this.mode = "float";
  }

  /** Bits times s (+/-1 per channel): into the flips of a threshold layer just emitted, else into `negate`. */
  private negateBits(s: Float64Array): void {
    const last = this.e.tip();
    const neg = Uint8Array.from(s, (v) => (v < 0 ? 1 : 0));
    if (
      !this.negate &&
      (last?.kind === "binary_conv2d" || last?.kind === "binary_dense") &&
      last.output.kind === "threshold"
    ) {
      const flip = last.output.flip;
      const c = neg.length;
      const old = unpackSigns(flip.data, 1, c);
      flip.data = packFlags(
        Array.from(old, (v, j) => (v > 0 ? 1 : 0) ^ neg[j]!),
        1,
        c,
      );
      return;
    }
    const cur = this.negate ?? new Uint8Array(neg.length);
    this.negate = cur.map((v, j) => v ^ neg[j]!);
    if (this.negate.every((v) => v === 0)) this.negate = undefined;
  }

  private pool(node: Node): void {
    if (!isImage(this.act)) this.fail(node, "pooling needs an image activation");
    let [h, w] = engineShape(this.act) as [number, number, number];
    const pad = this.pad;
    this.pad = undefined;
    if (pad) {
      // A Pad before a MaxPool: values that never win (-inf, or -1 on +/-1 values) are the
      // engine's in-bounds max with the Pad's pads.
      const never = pad.value === Number.NEGATIVE_INFINITY || (this.mode !== "float" && pad.value === -1);
      if (!never)
        this.fail(
          node,
          `a Pad (${pad.node.label}) with value ${pad.value} before a MaxPool (the engine's pads never win: -inf)`,
        );
      h -= pad.pads[0]! + pad.pads[2]!;
      w -= pad.pads[1]! + pad.pads[3]!;
    }
    const spec = poolSpecOf(node, [h, w], this.where(node), pad?.pads);
    const kind = node.op === "MaxPool" ? "maxpool" : "avgpool";
    if (kind === "maxpool" && this.mode === "pending") {
      this.pending!.steps.push({ kind: "maxpool", pool: spec, node });
    } else {
      if (this.mode === "pending") this.flush();
      if (kind === "avgpool" && this.mode === "bits")
        this.fail(node, "average pooling of binary activations");
      const n = this.mode === "bits" ? this.negate : undefined;
      const flip = n ? { flip: { dtype: "bits", shape: [n.length], data: packFlags(n, 1, n.length) } } : {};
      this.e.push({ kind, name: this.name(node), ...spec, ...flip });
    }
    const o = this.e.act.shape;
    const outHW = kind === "maxpool" && this.mode === "pending" ? pooledHW(h, w, spec) : [o[0]!, o[1]!];
    const dims = this.act.axes.map((axis, i) => (axis === 2 ? this.act.dims[i]! : outHW[axis]!));
    this.act = { ...this.act, name: node.outputs[0]!, dims };
  }

  private flatten(node: Node): void {
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

  private reshape(node: Node, target: Const | undefined): void {
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

  /** Emits the pending binary layer with an exact affine output and replays its steps as float layers. */
  private flush(): void {
    const p = this.pending!;
    const c = p.outC;
    // The affine transform is fround(fround(x * scale) + bias): it takes the XNOR alpha and
    // bias, or else the first multiply-add steps, with the same rounding.
    let scale = p.alpha;
    let bias = p.bias;
    let used = 0;
    const step = (i: number) => {
      const s = p.steps[i];
      return s?.kind === "affine" ? s : undefined;
    };
    const pureAdd = (i: number) => step(i)?.a.every((v) => v === 1) ?? false;
    const pureMul = (i: number) => step(i)?.b.every((v) => v === 0) ?? false;
    if (!scale && !bias && step(0)) {
      scale = step(0)!.a;
      bias = step(0)!.b;
      used = 1;
      if (pureMul(0) && pureAdd(1)) {
        bias = step(1)!.b;
        used = 2;
      }
    } else if (!bias && pureAdd(0)) {
      bias = step(0)!.b;
      used = 1;
    }
    const output = {
      kind: "affine",
      scale: f32(scale ?? new Float64Array(c).fill(1)),
      bias: f32(bias ?? new Float64Array(c)),
    };
    this.e.push({ ...p.draft, output });
    this.pending = undefined;
    this.mode = "float";
    for (const s of p.steps.slice(used)) this.replay(s);
  }

  private replay(step: Step): void {
    const name = this.name(step.node);
    if (step.kind === "affine") this.e.affine(name, step.a, step.b);
    else if (step.kind === "relu") this.e.push({ kind: "relu", name });
    else if (step.kind === "maxpool") this.e.push({ kind: "maxpool", name, ...step.pool });
    else if (step.kind === "flatten") this.e.push({ kind: "flatten", name });
    else
      this.fail(step.node, "Clip on float activations has no engine layer unless a binarization follows it");
  }

  /** Conv with group = channels and one filter per channel: an engine depthwise_conv2d (float). */
  private depthwise(node: Node, inputs: (Const | undefined)[]): void {
    const w = inputs[1];
    const [c, h, wd] = this.act.dims as [number, number, number];
    const [kh, kw] = (w?.shape.slice(2) ?? []) as [number, number];
    if (!w || !isImage(this.act) || this.act.axes.join() !== NCHW.join() || node.int("group", 1) !== c)
      this.fail(node, "grouped convolution is supported as depthwise (group = input channels, NCHW)");
    if (w.shape.join() !== [c, 1, kh, kw].join())
      this.fail(node, `depthwise weights [${w.shape}] must be [${c}, 1, kh, kw] (one filter per channel)`);
    if ((node.ints("dilations") ?? [1, 1]).some((d) => d !== 1))
      this.fail(node, "dilations are not supported");
    const pad = this.pad;
    this.pad = undefined;
    if (pad && pad.value !== 0)
      this.fail(
        node,
        `a Pad (${pad.node.label}) with value ${pad.value} before a depthwise convolution (its padding reads 0)`,
      );
    if (this.mode === "pending") this.flush();
    if (this.mode === "bits") this.unpack(node);
    const s = (node.ints("strides") ?? [1, 1]) as [number, number];
    const where = this.where(node);
    const hw: [number, number] = pad
      ? [h - pad.pads[0]! - pad.pads[2]!, wd - pad.pads[1]! - pad.pads[3]!]
      : [h, wd];
    const own = nodePads(where, node.string("auto_pad", "NOTSET"), node.ints("pads"), hw, [kh, kw], s);
    const pads = pad ? own.map((p, i) => p + pad.pads[i]!) : own;
    const bias = inputs[2];
    // [C, 1, kh, kw] -> [kh, kw, C]
    const weights = new Float32Array(c * kh * kw);
    for (let ch = 0; ch < c; ch++)
      for (let k = 0; k < kh * kw; k++) weights[k * c + ch] = w.data[ch * kh * kw + k]!;
    this.e.push({
      kind: "depthwise_conv2d",
      name: this.name(node),
      weights: f32(weights, [kh, kw, c]),
      ...(bias ? { bias: f32(bias.data) } : {}),
      strides: s,
      padding: paddingOf(where, hw, [kh, kw], s, pads),
    });
    const [oh, ow] = this.e.act.shape as [number, number];
    this.act = { name: node.outputs[0]!, dims: [c, oh, ow], axes: NCHW };
  }

  private weightLayer(node: Node, inputs: (Const | undefined)[]): void {
    if (node.inputs[0] !== this.act.name) this.fail(node, "the activation must be the first input");
    if (node.op === "Conv" && node.int("group", 1) !== 1) {
      this.depthwise(node, inputs);
      return;
    }
    if (this.mode === "pending") this.flush();
    const pad = this.pad;
    this.pad = undefined;
    const r = readWeights(node, inputs, this.act, pad, this.where(node));
    let weights = r.weights;
    const outC = weights.shape[0]!;
    const isConv = node.op === "Conv";
    const draft: Draft = { kind: "float_dense", name: this.name(node), ...r.geometry };
    if (this.mode === "bits" && this.negate) {
      // Negated input channels are negated weight columns.
      const n = this.negate;
      const c = weights.shape[weights.shape.length - 1]!;
      weights = { ...weights, data: weights.data.map((v, i) => (n[i % c] ? -v : v)) };
      this.negate = undefined;
    }
    const signs = this.mode === "bits" ? binaryWeights(weights) : undefined;
    // Binary input with real weights (e.g. a float last layer): +/-1 floats into a float layer.
    if (this.mode === "bits" && !signs) this.unpack(node);
    if (signs) {
      const c = weights.shape[weights.shape.length - 1]!;
      draft.kind = isConv ? "binary_conv2d" : "binary_dense";
      draft.weights = {
        dtype: "bits",
        shape: weights.shape,
        data: packSigns(weights.data, weights.data.length / c, c),
      };
      if (isConv) draft.padValue = r.padValue as BinaryPadValue;
      const k = weights.data.length / outC;
      this.pending = { draft, k, outC, alpha: signs.alpha, bias: r.bias, steps: [] };
      this.mode = "pending";
    } else {
      // Real input: +/-alpha float32 weights (BWN) are stored as bits and alpha when that is
      // exact and smaller, by the converter's own rule (same layer kinds as a converted model).
      const w32 = Float32Array.from(weights.data);
      const bwn = bwnWeights(w32, weights.shape);
      if (bwn) {
        draft.kind = isConv ? "bwn_conv2d" : "bwn_dense";
        draft.weights = bwn.weights;
        draft.alpha = bwn.alpha;
      } else {
        draft.kind = isConv ? "float_conv2d" : "float_dense";
        draft.weights = f32(w32, weights.shape);
      }
      if (r.bias) draft.bias = f32(r.bias);
      if (isConv) draft.padValue = r.padValue;
      this.e.push(draft);
    }
    const out = this.mode === "pending" ? outShapeOf(draft, r.hw, outC) : this.e.act.shape;
    this.act = isConv
      ? { name: node.outputs[0]!, dims: [outC, out[0]!, out[1]!], axes: NCHW }
      : { name: node.outputs[0]!, dims: [outC], axes: [0] };
  }
}

function pooledHW(h: number, w: number, s: PoolSpec): [number, number] {
  const g = convGeometry(1, h, w, 1, s.poolSize[0], s.poolSize[1], s.strides[0], s.strides[1], s.padding);
  return [g.outH, g.outW];
}

function outShapeOf(draft: Record<string, unknown>, [h, w]: [number, number], outC: number): number[] {
  if (draft.kind !== "binary_conv2d") return [outC];
  const shape = (draft.weights as { shape: number[] }).shape;
  return pooledHW(h, w, {
    poolSize: [shape[1]!, shape[2]!],
    strides: draft.strides as [number, number],
    padding: draft.padding as Padding,
  });
}
