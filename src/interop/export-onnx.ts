/**
 * Engine model -> a standard ONNX graph (opset 13) computing what the engine computes:
 *
 *   input  "image" float32 [N, h, w, c]: the raw values the engine takes (pixels 0..255),
 *          transposed to NCHW and preprocessed in the graph as the engine does, in float64:
 *          Cast(Add(Mul(Cast(raw, double), scale), offset), float);
 *   bitpack          Where(x >= 0, 1, -1)                     (sign(0) = +1)
 *   binary layers    Conv / Gemm on +/-1 values with +/-1 weights (exact integer sums),
 *                    pad value -1/+1 as an explicit Pad;
 *     threshold      Where(x >= T, s, -s), s = -1 on flipped channels
 *     affine         Add(Mul(x, scale), bias)
 *   bit max-pool with flips   Mul(s) -> MaxPool -> Mul(s)    (AND-pooling of flipped channels)
 *   batchnorm        Add(Mul(Mul(Sub(x, mean), invStd), gamma), beta): the engine's float32 steps
 *   float conv/dense, max/avg pool, flatten (in NHWC order), relu, softmax: the ONNX op
 *   graphs (2.0): add -> Add, concat -> Concat (channels), globalavgpool ->
 *                    GlobalAveragePool, prelu -> PRelu, shift -> Add, depthwise -> Conv
 *                    with group = C, a bitpack threshold t -> Where(x - t >= 0, 1, -1)
 *   output "scores" float32 [N, classes].
 * Elementwise steps round like the engine's, so binary layers and their transforms agree
 * bit for bit; float conv/dense/softmax agree up to summation order.
 *
 *     const bytes = exportOnnx(engineModel);   // write as MODEL.onnx
 */
import type { EngineModel, Layer, Padding } from "../engine/model.js";
import { unpackSigns } from "../kernels/bits.js";
import { convGeometry } from "../kernels/geometry.js";
import {
  AttributeType,
  DataType,
  encodeOnnx,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
} from "./onnx-proto.js";
import { doubleTensor, floatTensor, int64Tensor } from "./onnx-tensor.js";
import type { BinarizeProbe } from "./verify-onnx.js";

type Attr = number | number[] | { f: number };
/** Axis order of an ONNX tensor: the engine's NHWC, ONNX Conv's NCHW, or a vector. */
type Order = "nhwc" | "nchw" | "vec";

class Builder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxTensor[] = [];
  private count = 0;

  init(name: string, shape: number[], data: ArrayLike<number>): string {
    this.inits.push(floatTensor(name, shape, data));
    return name;
  }

  double(name: string, shape: number[], data: ArrayLike<number>): string {
    this.inits.push(doubleTensor(name, shape, data));
    return name;
  }

  ints(name: string, values: number[]): string {
    this.inits.push(int64Tensor(name, values));
    return name;
  }

  node(op: string, inputs: string[], label: string, attrs: Record<string, Attr> = {}): string {
    const out = `${label}/${op}_${this.count++}`;
    const attribute: OnnxAttribute[] = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: AttributeType.INTS, ints: v }
        : typeof v === "number"
          ? { name, type: AttributeType.INT, i: v }
          : { name, type: AttributeType.FLOAT, f: v.f },
    );
    this.nodes.push({ input: inputs, output: [out], name: out, opType: op, attribute });
    return out;
  }
}

/** ONNX pads [top, left, bottom, right] of an engine window. */
function padsOf(shape: number[], k: [number, number], s: [number, number], padding: Padding): number[] {
  if (typeof padding !== "string") return [...padding];
  const [h, w, c] = shape as [number, number, number];
  const g = convGeometry(1, h, w, c, k[0], k[1], s[0], s[1], padding);
  const bottom = Math.max((g.outH - 1) * s[0] + k[0] - h, 0) - g.padTop;
  const right = Math.max((g.outW - 1) * s[1] + k[1] - w, 0) - g.padLeft;
  return padding === "valid" ? [0, 0, 0, 0] : [g.padTop, g.padLeft, bottom, right];
}

/** OHWI (or [O, I]) -> OIHW. */
export function toOihw(w: Float32Array, [o, kh, kw, c]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o!; a++)
    for (let y = 0; y < kh!; y++)
      for (let x = 0; x < kw!; x++)
        for (let i = 0; i < c!; i++)
          out[((a * c! + i) * kh! + y) * kw! + x] = w[((a * kh! + y) * kw! + x) * c! + i]!;
  return out;
}

/** Binary-weight layers on float input (w = bit ? alpha[o] : -alpha[o]), as float Conv/Gemm. */
interface BwnLayer {
  kind: "bwn_conv2d" | "bwn_dense";
  in: { shape: number[] };
  weights: { shape: number[]; data: Uint32Array };
  alpha: { data: Float32Array };
  bias?: { data: Float32Array };
  strides?: [number, number];
  padding?: Padding;
  padValue?: number;
}

function bwnLayer(b: Builder, layer: BwnLayer, input: string, L: string): string {
  const shape = layer.weights.shape;
  const o = shape[0]!;
  const c = shape[shape.length - 1]!;
  const signs = unpackSigns(
    layer.weights.data,
    shape.slice(0, -1).reduce((x, y) => x * y, 1),
    c,
  );
  const per = signs.length / o;
  const w = signs.map((v, i) => v * layer.alpha.data[Math.floor(i / per)]!);
  if (layer.kind === "bwn_dense") {
    const inputs = [input, b.init(`${L}/weights`, [o, c], w)];
    if (layer.bias) inputs.push(b.init(`${L}/bias`, [o], layer.bias.data));
    return b.node("Gemm", inputs, L, { transB: 1 });
  }
  let cur = input;
  const [, kh, kw] = shape as [number, number, number, number];
  let pads = padsOf(layer.in.shape, [kh, kw], layer.strides!, layer.padding!);
  if (layer.padValue && pads.some((p) => p > 0)) {
    const [t, l, bo, r] = pads as [number, number, number, number];
    const padsName = b.ints(`${L}/pads`, [0, 0, t, l, 0, 0, bo, r]);
    cur = b.node("Pad", [cur, padsName, b.init(`${L}/pad_value`, [], [layer.padValue])], L);
    pads = [0, 0, 0, 0];
  }
  const inputs = [cur, b.init(`${L}/weights`, [o, c, kh, kw], toOihw(w, [o, kh, kw, c]))];
  if (layer.bias) inputs.push(b.init(`${L}/bias`, [o], layer.bias.data));
  return b.node("Conv", inputs, L, { kernel_shape: [kh, kw], strides: [...layer.strides!], pads });
}

/** Converts an engine model into ONNX ModelProto bytes (see the module doc). */
export function exportOnnx(model: EngineModel, producer = "onebit"): Uint8Array {
  return exportOnnxWithProbes(model, producer).bytes;
}

/** exportOnnx, plus where the graph binarizes float values (for verifyOnnx's diagnosis). */
export function exportOnnxWithProbes(
  model: EngineModel,
  producer = "onebit",
): { bytes: Uint8Array; probes: BinarizeProbe[] } {
  const b = new Builder();
  const probes: BinarizeProbe[] = [];
  const inShape = model.layers[0]!.in.shape;
  let cur = "image";
  // NHWC (the engine's order) or NCHW (what ONNX Conv/Pool need); vectors are "vec".
  let order = (inShape.length === 3 ? "nhwc" : "vec") as Order;
  const nchw = (label: string) => {
    if (order === "nhwc") cur = b.node("Transpose", [cur], label, { perm: [0, 3, 1, 2] });
    if (order !== "vec") order = "nchw";
  };
  const nhwc = (label: string) => {
    if (order === "nchw") cur = b.node("Transpose", [cur], label, { perm: [0, 2, 3, 1] });
    if (order !== "vec") order = "nhwc";
  };
  /** A per-channel constant shaped to broadcast against the current activation. */
  const channelConst = (name: string, data: ArrayLike<number>) =>
    b.init(name, order === "nchw" ? [data.length, 1, 1] : [data.length], data);
  let signConsts: [string, string, string] | undefined;
  /** The scalars 0, 1, -1 of Where(x >= 0, 1, -1), added once, when first needed. */
  const signs = () => {
    signConsts ??= [
      b.init("const/zero", [], [0]),
      b.init("const/one", [], [1]),
      b.init("const/minus_one", [], [-1]),
    ];
    return signConsts;
  };

  // Graph models: each engine layer's ONNX tensor and its axis order, by layer name.
  const held = new Map<string, { name: string; order: Order }>();
  /** Makes a held tensor current, in the wanted order. */
  const load = (layerName: string, want?: "nchw") => {
    const h = held.get(layerName)!;
    cur = h.name;
    order = h.order;
    if (want === "nchw") nchw(`${layerName}_in`);
  };
  model.layers.forEach((layer: Layer, li) => {
    const L = `l${li}_${layer.name.replace(/[^\w.-]/g, "_")}`;
    if (layer.inputs) load(layer.inputs[0]!);
    emitLayer(layer, L);
    held.set(layer.name, { name: cur, order });
  });

  function emitLayer(layer: Layer, L: string): void {
    switch (layer.kind) {
      case "add":
      case "concat": {
        const rank3 = layer.in.shape.length === 3;
        const names = layer.inputs!.map((n) => {
          load(n, rank3 ? "nchw" : undefined);
          return cur;
        });
        if (layer.kind === "add") {
          cur = names[0]!;
          for (const x of names.slice(1)) cur = b.node("Add", [cur, x], L);
        } else {
          cur = b.node("Concat", names, L, { axis: rank3 ? 1 : -1 });
        }
        return;
      }
      case "globalavgpool":
        nchw(L);
        cur = b.node("GlobalAveragePool", [cur], L);
        cur = b.node("Flatten", [cur], L, { axis: 1 });
        order = "vec";
        return;
      case "prelu":
        cur = b.node("PRelu", [cur, channelConst(`${L}/slope`, layer.alpha.data)], L);
        return;
      case "shift":
        cur = b.node("Add", [cur, channelConst(`${L}/bias`, layer.bias.data)], L);
        return;
      case "depthwise_conv2d": {
        nchw(L);
        const [kh, kw, c] = layer.weights.shape as [number, number, number];
        const w = new Float32Array(c * kh * kw);
        for (let ch = 0; ch < c; ch++)
          for (let k = 0; k < kh * kw; k++) w[ch * kh * kw + k] = layer.weights.data[k * c + ch]!;
        const inputs = [cur, b.init(`${L}/weights`, [c, 1, kh, kw], w)];
        if (layer.bias) inputs.push(b.init(`${L}/bias`, [c], layer.bias.data));
        const pads = padsOf(layer.in.shape, [kh, kw], layer.strides, layer.padding);
        cur = b.node("Conv", inputs, L, {
          kernel_shape: [kh, kw],
          strides: [...layer.strides],
          pads,
          group: c,
        });
        return;
      }
      case "input": {
        // Transpose first, so importers see the NHWC -> NCHW transpose on the input.
        nchw(L);
        // The engine computes fround(raw * scale + offset) in float64: so does the graph.
        const c = inShape[inShape.length - 1]!;
        const shape = order === "nchw" ? [c, 1, 1] : [c];
        const perChannel = (v: number[]) => (v.length === 1 ? new Array<number>(c).fill(v[0]!) : v);
        cur = b.node("Cast", [cur], L, { to: DataType.DOUBLE });
        cur = b.node("Mul", [cur, b.double(`${L}/scale`, shape, perChannel(layer.scale))], L);
        cur = b.node("Add", [cur, b.double(`${L}/offset`, shape, perChannel(layer.offset))], L);
        cur = b.node("Cast", [cur], L, { to: DataType.FLOAT });
        return;
      }
      case "bitpack": {
        const [h, w, c] = layer.in.shape as [number, number, number];
        const dims = order === "vec" ? [h] : order === "nchw" ? [c, h, w] : [h, w, c];
        probes.push({
          layer: layer.name,
          onnx: cur,
          dims,
          axes: order === "vec" ? [0] : order === "nchw" ? [2, 0, 1] : [0, 1, 2],
        });
        const [zero, one, minusOne] = signs();
        // With thresholds (RSign): sign(fround(x - t)), the engine's float32 difference.
        if (layer.thresholds)
          cur = b.node("Sub", [cur, channelConst(`${L}/thresholds`, layer.thresholds.data)], L);
        cur = b.node("Where", [b.node("GreaterOrEqual", [cur, zero], L), one, minusOne], L);
        return;
      }
      case "float_conv2d":
      case "binary_conv2d": {
        nchw(L);
        const [o, kh, kw, c] = layer.weights.shape as [number, number, number, number];
        const w =
          layer.kind === "float_conv2d"
            ? layer.weights.data
            : unpackSigns(layer.weights.data, o * kh * kw, c);
        let pads = padsOf(layer.in.shape, [kh, kw], layer.strides, layer.padding);
        if (layer.padValue !== 0 && pads.some((p) => p > 0)) {
          const [t, l, bo, r] = pads as [number, number, number, number];
          const padsName = b.ints(`${L}/pads`, [0, 0, t, l, 0, 0, bo, r]);
          cur = b.node("Pad", [cur, padsName, b.init(`${L}/pad_value`, [], [layer.padValue])], L, {});
          pads = [0, 0, 0, 0];
        }
        const inputs = [cur, b.init(`${L}/weights`, [o, c, kh, kw], toOihw(w, [o, kh, kw, c]))];
        if (layer.kind === "float_conv2d" && layer.bias)
          inputs.push(b.init(`${L}/bias`, [o], layer.bias.data));
        cur = b.node("Conv", inputs, L, { kernel_shape: [kh, kw], strides: [...layer.strides], pads });
        break;
      }
      case "float_dense":
      case "binary_dense": {
        const [o, k] = layer.weights.shape as [number, number];
        const w = layer.kind === "float_dense" ? layer.weights.data : unpackSigns(layer.weights.data, o, k);
        const inputs = [cur, b.init(`${L}/weights`, [o, k], w)];
        if (layer.kind === "float_dense" && layer.bias)
          inputs.push(b.init(`${L}/bias`, [o], layer.bias.data));
        cur = b.node("Gemm", inputs, L, { transB: 1 });
        break;
      }
      case "maxpool":
      case "avgpool": {
        nchw(L);
        const pads = padsOf(layer.in.shape, layer.poolSize, layer.strides, layer.padding);
        const attrs: Record<string, Attr> = {
          kernel_shape: [...layer.poolSize],
          strides: [...layer.strides],
          pads,
        };
        const flip =
          layer.kind === "maxpool" && layer.flip ? unpackSigns(layer.flip.data, 1, layer.in.shape[2]!) : null;
        // unpackSigns gives +1 for flip bits: s = -1 there.
        const s = flip
          ? channelConst(
              `${L}/flip_sign`,
              flip.map((v) => -v),
            )
          : null;
        if (s) cur = b.node("Mul", [cur, s], L);
        cur = b.node(layer.kind === "maxpool" ? "MaxPool" : "AveragePool", [cur], L, attrs);
        if (s) cur = b.node("Mul", [cur, s], L);
        return;
      }
      case "batchnorm": {
        cur = b.node("Sub", [cur, channelConst(`${L}/mean`, layer.mean.data)], L);
        cur = b.node("Mul", [cur, channelConst(`${L}/inv_std`, layer.invStd.data)], L);
        cur = b.node("Mul", [cur, channelConst(`${L}/gamma`, layer.gamma.data)], L);
        cur = b.node("Add", [cur, channelConst(`${L}/beta`, layer.beta.data)], L);
        return;
      }
      case "flatten":
        nhwc(L);
        cur = b.node("Flatten", [cur], L, { axis: 1 });
        order = "vec";
        return;
      case "relu":
        cur = b.node("Relu", [cur], L);
        return;
      case "softmax":
        cur = b.node("Softmax", [cur], L, { axis: -1 });
        return;
      case "unpack":
        // The graph carries binarized values as +/-1 floats already.
        return;
      default: {
        const bwn = layer as unknown as BwnLayer;
        if (bwn.kind !== "bwn_conv2d" && bwn.kind !== "bwn_dense")
          throw new Error(`exportOnnx: layer kind '${bwn.kind}' has no ONNX form`);
        if (bwn.kind === "bwn_conv2d") nchw(L);
        cur = bwnLayer(b, bwn, cur, L);
        return;
      }
    }
    // Output transform of binary layers.
    if (layer.kind === "binary_conv2d" || layer.kind === "binary_dense") {
      const t = layer.output;
      if (t.kind === "threshold") {
        const c = t.thresholds.data.length;
        const flips = unpackSigns(t.flip.data, 1, c);
        const ge = b.node("GreaterOrEqual", [cur, channelConst(`${L}/thresholds`, t.thresholds.data)], L);
        const pos = channelConst(
          `${L}/on`,
          flips.map((v) => -v),
        );
        const neg = channelConst(`${L}/off`, flips);
        cur = b.node("Where", [ge, pos, neg], L);
      } else {
        cur = b.node("Mul", [cur, channelConst(`${L}/scale`, t.scale.data)], L);
        cur = b.node("Add", [cur, channelConst(`${L}/bias`, t.bias.data)], L);
      }
    }
  }
  if ((order as string) === "nchw") nhwc("output");
  const last = b.nodes[b.nodes.length - 1]!;
  last.output = ["scores"];
  const classes = model.classNames.length;
  const tensorType = (dims: (number | string)[]) => ({
    tensorType: {
      elemType: 1,
      shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
    },
  });
  const bytes = encodeOnnx({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: producer,
    graph: {
      name: model.name,
      node: b.nodes,
      initializer: b.inits,
      input: [{ name: "image", type: tensorType(["N", ...inShape]) }],
      output: [{ name: "scores", type: tensorType(["N", classes]) }],
    },
    metadataProps: [{ key: "class_names", value: JSON.stringify(model.classNames) }],
  });
  return { bytes, probes };
}
