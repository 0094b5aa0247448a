/**
 * Float ResNet-18 (He et al. 2016, torchvision's layout) for `onebit bench zoo`'s peers,
 * built in code with random weights (speed does not depend on them): one description,
 * written as an ONNX graph for onnxruntime-node (NCHW) and run as tfjs ops (NHWC) on the
 * same weights, so that the two peers compute the same network.
 *
 * Stem conv 7x7/2 (pad 3) -> ReLU -> max-pool 3x3/2 (pad 1); four stages of two basic
 * blocks (3x3 convs, pad 1; the first block of stages 2-4 has stride 2 and a 1x1/2
 * projection shortcut); global average pool -> dense. Batch norm is folded into each
 * conv's bias (what onnxruntime's graph optimizer and an inference export do anyway).
 * At width 64 and 224x224x3: 1.814 G MACs.
 */
import { Random } from "../util/random.js";
import type { OnnxGraph } from "./layers-onnx.js";
import { onnxGraph } from "./layers-onnx.js";

export interface ResNetConv {
  kind: "conv";
  name: string;
  input: string;
  k: number;
  stride: number;
  inC: number;
  outC: number;
  /** Output [h, w]. */
  outHW: [number, number];
  /** Added to the conv's output before the ReLU (the block's shortcut). */
  add?: string;
  relu: boolean;
  /** HWIO weights [k, k, inC, outC] and bias [outC]. */
  w: Float32Array;
  b: Float32Array;
}

export type ResNetOp =
  | ResNetConv
  | { kind: "maxpool"; name: string; input: string; outHW: [number, number] }
  | { kind: "gap"; name: string; input: string }
  | {
      kind: "dense";
      name: string;
      input: string;
      inC: number;
      outC: number;
      w: Float32Array;
      b: Float32Array;
    };

export interface ResNet {
  inputShape: [number, number, number];
  classes: number;
  ops: ResNetOp[];
  macs: number;
}

const conv = (size: number, k: number, stride: number) => Math.floor((size + 2 * (k >> 1) - k) / stride) + 1;

/** ResNet-18 with random He-normal weights (small biases), first stage `width` channels. */
export function resnet18(
  inputShape: [number, number, number],
  classes: number,
  width = 64,
  seed = 7,
): ResNet {
  const rng = new Random(seed);
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
    return a;
  };
  const ops: ResNetOp[] = [];
  let macs = 0;
  let hw: [number, number] = [inputShape[0], inputShape[1]];
  let channels = inputShape[2];
  let cur = "x";
  const addConv = (
    name: string,
    input: string,
    k: number,
    stride: number,
    outC: number,
    relu: boolean,
    add?: string,
  ) => {
    const outHW: [number, number] = [conv(hw[0], k, stride), conv(hw[1], k, stride)];
    const inC = channels;
    ops.push({
      kind: "conv",
      name,
      input,
      k,
      stride,
      inC,
      outC,
      outHW,
      add,
      relu,
      w: normal(k * k * inC * outC, Math.sqrt(2 / (k * k * inC))),
      b: normal(outC, 0.01),
    });
    macs += outHW[0] * outHW[1] * k * k * inC * outC;
    return outHW;
  };
  hw = addConv("stem", cur, 7, 2, width, true);
  channels = width;
  cur = "stem";
  hw = [conv(hw[0], 3, 2), conv(hw[1], 3, 2)];
  ops.push({ kind: "maxpool", name: "pool", input: cur, outHW: hw });
  cur = "pool";
  for (let s = 0; s < 4; s++) {
    const outC = width << s;
    for (let b = 0; b < 2; b++) {
      const id = `s${s + 1}b${b + 1}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const inC = channels;
      let shortcut = cur;
      if (stride !== 1 || inC !== outC) {
        addConv(`${id}_proj`, cur, 1, stride, outC, false);
        shortcut = `${id}_proj`;
      }
      hw = addConv(`${id}_conv1`, cur, 3, stride, outC, true);
      channels = outC;
      addConv(`${id}_conv2`, `${id}_conv1`, 3, 1, outC, true, shortcut);
      cur = `${id}_conv2`;
    }
  }
  ops.push({ kind: "gap", name: "gap", input: cur });
  ops.push({
    kind: "dense",
    name: "fc",
    input: "gap",
    inC: channels,
    outC: classes,
    w: normal(channels * classes, Math.sqrt(1 / channels)),
    b: normal(classes, 0.01),
  });
  macs += channels * classes;
  return { inputShape, classes, ops, macs };
}

/** HWIO [k, k, i, o] -> OIHW [o, i, k, k]. */
function hwioToOihw(w: Float32Array, k: number, inC: number, outC: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < inC; i++)
        for (let o = 0; o < outC; o++)
          out[((o * inC + i) * k + y) * k + x] = w[((y * k + x) * inC + i) * outC + o]!;
  return out;
}

/** The network as an NCHW ONNX model for a batch of `batch`: input "x", one output. */
export function resnetOnnx(net: ResNet, batch: number): Uint8Array {
  const [h, w, c] = net.inputShape;
  const g: OnnxGraph = {
    nodes: [],
    initializers: [],
    input: { name: "x", shape: [batch, c, h, w] },
    output: { name: "", shape: [batch, net.classes] },
  };
  let last = "x";
  for (const op of net.ops) {
    if (op.kind === "conv") {
      const p = op.k >> 1;
      g.initializers.push({
        name: `${op.name}.w`,
        shape: [op.outC, op.inC, op.k, op.k],
        data: hwioToOihw(op.w, op.k, op.inC, op.outC),
      });
      g.initializers.push({ name: `${op.name}.b`, shape: [op.outC], data: op.b });
      let out = `${op.name}.conv`;
      g.nodes.push({
        op: "Conv",
        inputs: [op.input, `${op.name}.w`, `${op.name}.b`],
        outputs: [out],
        attributes: { kernel_shape: [op.k, op.k], strides: [op.stride, op.stride], pads: [p, p, p, p] },
      });
      if (op.add) {
        g.nodes.push({ op: "Add", inputs: [out, op.add], outputs: [`${op.name}.add`] });
        out = `${op.name}.add`;
      }
      if (op.relu) {
        g.nodes.push({ op: "Relu", inputs: [out], outputs: [op.name] });
      } else {
        g.nodes.push({ op: "Identity", inputs: [out], outputs: [op.name] });
      }
    } else if (op.kind === "maxpool") {
      g.nodes.push({
        op: "MaxPool",
        inputs: [op.input],
        outputs: [op.name],
        attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      });
    } else if (op.kind === "gap") {
      g.nodes.push({ op: "GlobalAveragePool", inputs: [op.input], outputs: [`${op.name}.4d`] });
      g.nodes.push({
        op: "Flatten",
        inputs: [`${op.name}.4d`],
        outputs: [op.name],
        attributes: { axis: { int: 1 } },
      });
    } else {
      // [out, in] from [in, out]: MatMul takes [in, out] as it is.
      g.initializers.push({ name: `${op.name}.w`, shape: [op.inC, op.outC], data: op.w });
      g.initializers.push({ name: `${op.name}.b`, shape: [op.outC], data: op.b });
      g.nodes.push({ op: "MatMul", inputs: [op.input, `${op.name}.w`], outputs: [`${op.name}.mm`] });
      g.nodes.push({ op: "Add", inputs: [`${op.name}.mm`, `${op.name}.b`], outputs: [op.name] });
    }
    last = op.name;
  }
  g.output.name = last;
  return onnxGraph(g);
}

/** The slice of tfjs the peer uses. */
export interface TfTensor {
  dispose(): void;
  dataSync(): Float32Array;
}
export interface TfjsOps {
  tensor(values: Float32Array, shape: number[]): TfTensor;
  tidy<T extends TfTensor>(fn: () => T): T;
  add(a: TfTensor, b: TfTensor): TfTensor;
  relu(x: TfTensor): TfTensor;
  maxPool(x: TfTensor, size: number, strides: number, pad: number): TfTensor;
  mean(x: TfTensor, axis: number[]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  fused: {
    conv2d(args: {
      x: TfTensor;
      filter: TfTensor;
      strides: number;
      pad: number;
      bias: TfTensor;
      activation?: "linear" | "relu";
    }): TfTensor;
  };
}

/**
 * The network on tfjs (NHWC): fused conv2d (conv + bias + ReLU in one kernel where no
 * shortcut comes between), add, max-pool, mean, matMul. Returns the forward pass (reading
 * the scores back, so the time covers the whole computation) and a dispose.
 */
export function resnetTfjs(
  tf: TfjsOps,
  net: ResNet,
  batch: number,
): { forward: (x: TfTensor) => Float32Array; input: (x: Float32Array) => TfTensor; dispose: () => void } {
  const weights = new Map<string, { w: TfTensor; b: TfTensor }>();
  for (const op of net.ops) {
    if (op.kind === "conv") {
      weights.set(op.name, {
        w: tf.tensor(op.w, [op.k, op.k, op.inC, op.outC]),
        b: tf.tensor(op.b, [op.outC]),
      });
    } else if (op.kind === "dense") {
      weights.set(op.name, { w: tf.tensor(op.w, [op.inC, op.outC]), b: tf.tensor(op.b, [op.outC]) });
    }
  }
  const forward = (x: TfTensor) => {
    const y = tf.tidy(() => {
      const values = new Map<string, TfTensor>([["x", x]]);
      let last = x;
      for (const op of net.ops) {
        const input = values.get(op.input)!;
        let out: TfTensor;
        if (op.kind === "conv") {
          const { w, b } = weights.get(op.name)!;
          const fuseRelu = op.relu && !op.add;
          out = tf.fused.conv2d({
            x: input,
            filter: w,
            strides: op.stride,
            pad: op.k >> 1,
            bias: b,
            activation: fuseRelu ? "relu" : "linear",
          });
          if (op.add) out = tf.add(out, values.get(op.add)!);
          if (op.relu && !fuseRelu) out = tf.relu(out);
        } else if (op.kind === "maxpool") {
          out = tf.maxPool(input, 3, 2, 1);
        } else if (op.kind === "gap") {
          out = tf.mean(input, [1, 2]);
        } else {
          const { w, b } = weights.get(op.name)!;
          out = tf.add(tf.matMul(input, w), b);
        }
        values.set(op.name, out);
        last = out;
      }
      return last;
    });
    const scores = y.dataSync();
    y.dispose();
    return scores;
  };
  const [h, w, c] = net.inputShape;
  return {
    forward,
    input: (x) => tf.tensor(x, [batch, h, w, c]),
    dispose: () => {
      for (const { w: a, b } of weights.values()) {
        a.dispose();
        b.dispose();
      }
    },
  };
}
