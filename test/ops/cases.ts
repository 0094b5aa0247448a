/** The op cases shared by the gradient test and the backend parity test: one line per op. */
import * as ops from "../../src/ops/index.js";
import { Random } from "../../src/util/random.js";
import type { OpCase } from "./checkOp.js";
import * as R from "./reference.js";

const BROADCAST: number[][][] = [
  [
    [3, 4],
    [3, 4],
  ],
  [[1], [1]],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [
    [2, 3, 5],
    [1, 5],
  ],
  [[3, 4], []],
  [[], [3, 4]],
  [
    [2, 1, 3],
    [4, 1],
  ],
  [
    [5, 1],
    [1, 6],
  ],
];
// Divisors away from 0: |b| in [0.5, 2).
const divisor = (rng: Random, i: number) =>
  i === 1 ? (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 2) : rng.uniform(-2, 2);
const labelsOf = (rows: number, cols: number) => {
  const rng = new Random(rows * 31 + cols);
  return Array.from({ length: rows }, () => rng.int(cols));
};
const CONV: [number[][], number, "valid" | "same", number][] = [
  [[[2, 5, 5, 3], [4, 3, 3, 3], [4]], 1, "same", 0],
  [[[2, 5, 5, 3], [4, 3, 3, 3], [4]], 1, "same", -1],
  [[[1, 5, 4, 2], [3, 3, 3, 2], [3]], 1, "same", 1],
  [[[2, 6, 5, 3], [2, 3, 3, 3], [2]], 2, "valid", 0],
  [[[1, 4, 6, 2], [3, 2, 3, 2], [3]], 2, "same", 0],
  [[[1, 1, 1, 1], [1, 1, 1, 1], [1]], 1, "valid", 0],
  [[[3, 3, 3, 5], [1, 3, 3, 5], [1]], 1, "same", -1],
  [[[1, 5, 5, 2], [2, 3, 3, 2], [2]], 2, "same", 1],
  [[[1, 5, 6, 3], [2, 1, 1, 3], [2]], 2, "valid", 0],
  [[[2, 5, 5, 2], [3, 1, 1, 2], [3]], 2, "same", -1],
];
// Depthwise: x and w [kh, kw, C], stride [h, w], padding. Even and odd sizes at stride 2
// ('same' pads 0 on top and 1 below for even, 1 and 1 for odd), a window larger than the image.
const DEPTHWISE: [number[], number[], [number, number], "valid" | "same"][] = [
  [[2, 5, 5, 3], [3, 3, 3], [1, 1], "same"],
  [[1, 6, 6, 2], [3, 3, 2], [2, 2], "same"],
  [[1, 7, 5, 3], [3, 3, 3], [2, 2], "same"],
  [[2, 6, 5, 2], [3, 3, 2], [2, 2], "valid"],
  [[1, 4, 5, 3], [2, 3, 3], [1, 2], "same"],
  [[1, 3, 3, 1], [1, 1, 1], [1, 1], "valid"],
  [[1, 1, 1, 2], [3, 3, 2], [2, 2], "same"],
];
// Distinct values 0.05 apart, so max pooling has no ties within the difference step.
const distinct = (rng: Random, _i: number, j: number) =>
  (((j * 7919 + rng.int(3)) % 97) - 48) * 0.05 + rng.uniform(0, 0.01);
const POOL: [number[], number, number, "valid" | "same"][] = [
  [[2, 4, 4, 3], 2, 2, "valid"],
  [[1, 5, 5, 2], 3, 2, "same"],
  [[1, 5, 3, 1], 2, 1, "same"],
  [[1, 1, 1, 1], 1, 1, "valid"],
];

export const CASES: OpCase[] = [
  {
    name: "add",
    grid: BROADCAST,
    op: ([a, b]) => ops.add(a!, b!),
    ref: ([a, b]) => R.broadcast(a!, b!, (x, y) => x + y),
  },
  {
    name: "sub",
    grid: BROADCAST,
    op: ([a, b]) => ops.sub(a!, b!),
    ref: ([a, b]) => R.broadcast(a!, b!, (x, y) => x - y),
  },
  {
    name: "mul",
    grid: BROADCAST,
    op: ([a, b]) => ops.mul(a!, b!),
    ref: ([a, b]) => R.broadcast(a!, b!, (x, y) => x * y),
  },
  {
    name: "div",
    grid: BROADCAST,
    gen: divisor,
    op: ([a, b]) => ops.div(a!, b!),
    ref: ([a, b]) => R.broadcast(a!, b!, (x, y) => x / y),
  },
  {
    name: "add, one tensor used twice (gradient 2g)",
    grid: [[[3, 4]], [[1]]],
    op: ([a]) => ops.add(a!, a!),
    ref: ([a]) => R.map(a!, (x) => x + x),
  },
  {
    name: "add per-channel shift",
    grid: [
      [[2, 3, 3, 4], [4]],
      [[1, 1, 1, 1], [1]],
    ],
    op: ([x, b]) => ops.add(x!, b!),
    ref: ([x, b]) => R.broadcast(x!, b!, (u, v) => u + v),
  },
  {
    name: "add number",
    grid: [[[3, 4]], [[1]]],
    op: ([a]) => ops.add(a!, 0.75),
    ref: ([a]) => R.map(a!, (x) => x + 0.75),
  },
  {
    name: "number sub",
    grid: [[[3, 4]], [[1]]],
    op: ([a]) => ops.sub(1.5, a!),
    ref: ([a]) => R.map(a!, (x) => 1.5 - x),
  },
  {
    name: "number div",
    grid: [[[2, 3]]],
    gen: (r) => r.uniform(0.5, 2),
    op: ([a]) => ops.div(2, a!),
    ref: ([a]) => R.map(a!, (x) => 2 / x),
  },
  {
    name: "matmul",
    grid: [
      [
        [3, 5],
        [5, 7],
      ],
      [
        [1, 1],
        [1, 1],
      ],
      [
        [4, 1],
        [1, 3],
      ],
      [
        [1, 9],
        [9, 1],
      ],
    ],
    op: ([a, b]) => ops.matmul(a!, b!),
    ref: ([a, b]) => R.matmul(a!, b!),
  },
  {
    name: "matmul A^T",
    grid: [
      [
        [5, 3],
        [5, 7],
      ],
      [
        [1, 4],
        [1, 2],
      ],
    ],
    op: ([a, b]) => ops.matmul(a!, b!, { transA: true }),
    ref: ([a, b]) => R.matmul(a!, b!, true),
  },
  {
    name: "matmul B^T",
    grid: [
      [
        [3, 5],
        [7, 5],
      ],
      [
        [2, 1],
        [3, 1],
      ],
    ],
    op: ([a, b]) => ops.matmul(a!, b!, { transB: true }),
    ref: ([a, b]) => R.matmul(a!, b!, false, true),
  },
  {
    name: "matmul A^T B^T",
    grid: [
      [
        [5, 3],
        [7, 5],
      ],
      [
        [1, 1],
        [2, 1],
      ],
    ],
    op: ([a, b]) => ops.matmul(a!, b!, { transA: true, transB: true }),
    ref: ([a, b]) => R.matmul(a!, b!, true, true),
  },
  { name: "sum", grid: [[[7]], [[2, 3, 4]], [[1]]], op: ([a]) => ops.sum(a!), ref: ([a]) => R.sumAll(a!) },
  {
    name: "sum axis 0",
    grid: [[[2, 3, 4]], [[5, 3]], [[1, 1]]],
    op: ([a]) => ops.sum(a!, 0),
    ref: ([a]) => R.sumAxis(a!, 0),
  },
  {
    name: "sum axis 1",
    grid: [[[2, 3, 4]], [[5, 3]], [[3, 1]]],
    op: ([a]) => ops.sum(a!, 1),
    ref: ([a]) => R.sumAxis(a!, 1),
  },
  {
    name: "sum axis -1",
    grid: [[[2, 3, 4]], [[4, 1]]],
    op: ([a]) => ops.sum(a!, -1),
    ref: ([a]) => R.sumAxis(a!, a!.shape.length - 1),
  },
  {
    name: "mean",
    grid: [[[3, 5]], [[1]]],
    op: ([a]) => ops.mean(a!),
    ref: ([a]) => R.map(R.sumAll(a!), (s) => s / a!.data.length),
  },
  {
    name: "mean axis 0",
    grid: [[[4, 3]]],
    op: ([a]) => ops.mean(a!, 0),
    ref: ([a]) => R.map(R.sumAxis(a!, 0), (s) => s / 4),
  },
  {
    name: "reshape",
    grid: [[[2, 3, 4]], [[1]]],
    op: ([a]) => ops.reshape(a!, [-1, a!.shape[a!.rank - 1]!]),
    ref: ([a]) => ({
      data: a!.data,
      shape: [a!.data.length / a!.shape[a!.shape.length - 1]!, a!.shape[a!.shape.length - 1]!],
    }),
  },
  {
    name: "flatten",
    grid: [[[2, 3, 2, 2]], [[1, 1, 1, 1]]],
    op: ([a]) => ops.flatten(a!),
    ref: ([a]) => ({ data: a!.data, shape: [a!.shape[0]!, a!.data.length / a!.shape[0]!] }),
  },
  {
    name: "transpose",
    grid: [[[3, 5]], [[1, 4]], [[1, 1]]],
    op: ([a]) => ops.transpose(a!),
    ref: ([a]) => R.permute(a!, [1, 0]),
  },
  {
    name: "permute",
    grid: [[[2, 3, 4, 5]], [[1, 3, 1, 2]]],
    op: ([a]) => ops.permute(a!, [0, 3, 1, 2]),
    ref: ([a]) => R.permute(a!, [0, 3, 1, 2]),
  },
  ...CONV.map(
    ([grid, stride, padding, padValue]): OpCase => ({
      name: `conv2d stride ${stride} ${padding} pad ${padValue}`,
      grid: [grid],
      op: ([x, w, b]) => ops.conv2d(x!, w!, { bias: b!, stride, padding, padValue }),
      ref: ([x, w, b]) => R.conv2d(x!, w!, b!, stride, padding, padValue),
      forwardTol: 1e-4,
    }),
  ),
  {
    name: "conv2d no bias",
    grid: [
      [
        [2, 4, 4, 3],
        [2, 3, 3, 3],
      ],
    ],
    op: ([x, w]) => ops.conv2d(x!, w!, { padding: "same" }),
    ref: ([x, w]) => R.conv2d(x!, w!, null, 1, "same", 0),
    forwardTol: 1e-4,
  },
  ...POOL.map(
    ([shape, size, stride, padding]): OpCase => ({
      name: `maxPool2d ${size}/${stride} ${padding}`,
      grid: [[shape]],
      gen: distinct,
      op: ([x]) => ops.maxPool2d(x!, { size, stride, padding }),
      ref: ([x]) => R.pool2d(x!, size, stride, padding, "max"),
    }),
  ),
  ...POOL.map(
    ([shape, size, stride, padding]): OpCase => ({
      name: `avgPool2d ${size}/${stride} ${padding}`,
      grid: [[shape]],
      op: ([x]) => ops.avgPool2d(x!, { size, stride, padding }),
      ref: ([x]) => R.pool2d(x!, size, stride, padding, "avg"),
    }),
  ),
  {
    name: "globalAvgPool2d",
    grid: [[[2, 3, 4, 5]], [[1, 5, 3, 2]], [[1, 1, 1, 1]]],
    op: ([x]) => ops.globalAvgPool2d(x!),
    ref: ([x]) => R.globalAvgPool2d(x!),
  },
  ...DEPTHWISE.map(
    ([xShape, wShape, stride, padding]): OpCase => ({
      name: `depthwiseConv2d ${wShape[0]}x${wShape[1]} stride ${stride.join(",")} ${padding}`,
      grid: [[xShape, wShape]],
      op: ([x, w]) => ops.depthwiseConv2d(x!, w!, { stride, padding }),
      ref: ([x, w]) => R.depthwiseConv2d(x!, w!, stride[0], stride[1], padding),
    }),
  ),
  {
    name: "concat channels",
    grid: [
      [
        [2, 3, 3, 2],
        [2, 3, 3, 5],
      ],
      [
        [3, 2],
        [3, 1],
        [3, 4],
      ],
      [[1, 1, 1, 1]],
    ],
    op: (xs) => ops.concat(xs),
    ref: (xs) => R.concat(xs, xs[0]!.shape.length - 1),
  },
  {
    name: "concat axis 1",
    grid: [
      [
        [2, 3, 4],
        [2, 1, 4],
        [2, 2, 4],
      ],
      [
        [1, 2, 1],
        [1, 3, 1],
      ],
    ],
    op: (xs) => ops.concat(xs, 1),
    ref: (xs) => R.concat(xs, 1),
  },
  {
    name: "concat axis 0",
    grid: [
      [
        [2, 3],
        [4, 3],
      ],
      [[5], [2]],
    ],
    op: (xs) => ops.concat(xs, 0),
    ref: (xs) => R.concat(xs, 0),
  },
  {
    name: "concat, one tensor used twice",
    grid: [[[2, 2, 3]]],
    op: ([a]) => ops.concat([a!, a!]),
    ref: ([a]) => R.concat([a!, a!], 2),
  },
  {
    name: "prelu",
    grid: [
      [[2, 3, 3, 4], [4]],
      [[5, 3], [3]],
      [[1], [1]],
    ],
    kinks: [0],
    op: ([x, a]) => ops.prelu(x!, a!),
    ref: ([x, a]) => R.prelu(x!, a!),
  },
  // Inputs that are op results: their first gradient overwrites a fresh block.
  {
    name: "concat of intermediates",
    grid: [
      [
        [2, 3, 2],
        [2, 3, 3],
      ],
    ],
    op: ([a, b]) => ops.concat([ops.neg(a!), ops.neg(b!)]),
    ref: ([a, b]) => R.map(R.concat([a!, b!], 2), (v) => -v),
  },
  {
    name: "prelu of intermediates",
    grid: [[[4, 3], [3]]],
    kinks: [0],
    op: ([x, a]) => ops.prelu(ops.neg(x!), ops.neg(a!)),
    ref: ([x, a]) =>
      R.prelu(
        R.map(x!, (v) => -v),
        R.map(a!, (v) => -v),
      ),
  },
  {
    name: "depthwiseConv2d of intermediates",
    grid: [
      [
        [1, 5, 4, 2],
        [3, 3, 2],
      ],
    ],
    op: ([x, w]) => ops.depthwiseConv2d(ops.neg(x!), ops.neg(w!), { stride: 2, padding: "same" }),
    ref: ([x, w]) => R.depthwiseConv2d(x!, w!, 2, 2, "same"),
  },
  {
    name: "relu",
    grid: [[[3, 5]], [[1]]],
    kinks: [0],
    op: ([a]) => ops.relu(a!),
    ref: ([a]) => R.map(a!, (x) => Math.max(x, 0)),
  },
  {
    name: "hardtanh",
    grid: [[[3, 5]], [[1]]],
    kinks: [-1, 1],
    op: ([a]) => ops.hardtanh(a!),
    ref: ([a]) => R.map(a!, (x) => Math.min(1, Math.max(-1, x))),
  },
  { name: "neg", grid: [[[3, 5]]], op: ([a]) => ops.neg(a!), ref: ([a]) => R.map(a!, (x) => -x) },
  { name: "abs", grid: [[[3, 5]]], kinks: [0], op: ([a]) => ops.abs(a!), ref: ([a]) => R.map(a!, Math.abs) },
  { name: "square", grid: [[[3, 5]]], op: ([a]) => ops.square(a!), ref: ([a]) => R.map(a!, (x) => x * x) },
  {
    name: "sqrt",
    grid: [[[3, 5]]],
    gen: (r) => r.uniform(0.2, 3),
    op: ([a]) => ops.sqrt(a!),
    ref: ([a]) => R.map(a!, Math.sqrt),
  },
  { name: "exp", grid: [[[3, 5]]], op: ([a]) => ops.exp(a!), ref: ([a]) => R.map(a!, Math.exp) },
  {
    name: "log",
    grid: [[[3, 5]]],
    gen: (r) => r.uniform(0.2, 3),
    op: ([a]) => ops.log(a!),
    ref: ([a]) => R.map(a!, Math.log),
  },
  ...(
    [
      [[6, 3], [3], [3]],
      [[2, 3, 3, 4], [4], [4]],
      [[5, 1], [1], [1]],
    ] as number[][][]
  ).map(
    (grid): OpCase => ({
      name: `batchNorm train ${grid[0]!.length}-D`,
      grid: [grid],
      op: ([x, g, b], ctx) => {
        const c = x!.shape[x!.rank - 1]!;
        return ops.batchNorm(x!, {
          gamma: g!,
          beta: b!,
          runningMean: ctx.zeros([c]),
          runningVar: ctx.ones([c]),
          training: true,
        });
      },
      ref: ([x, g, b]) => R.batchNormTrain(x!, g!, b!, 1e-3),
      forwardTol: 1e-4,
    }),
  ),
  {
    name: "batchNorm train without gamma",
    grid: [[[7, 3], [3]]],
    op: ([x, b], ctx) =>
      ops.batchNorm(x!, { beta: b!, runningMean: ctx.zeros([3]), runningVar: ctx.ones([3]), training: true }),
    ref: ([x, b]) => R.batchNormTrain(x!, null, b!, 1e-3),
    forwardTol: 1e-4,
  },
  {
    name: "dropout",
    grid: [[[5, 7]]],
    op: ([x]) => ops.dropout(x!, 0.3, { training: true, rng: new Random(7) }),
    ref: ([x]) => {
      const rng = new Random(7);
      return R.map(x!, (v) => (rng.next() >= 0.3 ? v / 0.7 : 0));
    },
  },
  {
    name: "softmaxCrossEntropy",
    grid: [[[4, 5]], [[1, 1]], [[3, 7]]],
    op: ([z]) => ops.softmaxCrossEntropy(z!, labelsOf(z!.shape[0]!, z!.shape[1]!)),
    ref: ([z]) => R.softmaxCrossEntropy(z!, labelsOf(z!.shape[0]!, z!.shape[1]!)),
  },
  ...[1, 2.5].map(
    (temperature): OpCase => ({
      name: `distillationLoss T=${temperature}`,
      grid: [
        [
          [4, 5],
          [4, 5],
        ],
        [
          [1, 1],
          [1, 1],
        ],
        [
          [3, 7],
          [3, 7],
        ],
      ],
      op: ([s, t]) => ops.distillationLoss(s!, t!, { temperature }),
      ref: ([s, t]) => R.distillation(s!, t!, temperature),
    }),
  ),
  {
    name: "squaredHinge",
    grid: [
      [
        [4, 3],
        [4, 3],
      ],
      [
        [1, 1],
        [1, 1],
      ],
    ],
    gen: (r, i) => (i === 1 ? (r.next() < 0.5 ? -1 : 1) : r.uniform(-2, 2)),
    kinks: [-1, 1],
    constants: [1],
    op: ([y, t]) => ops.squaredHinge(y!, t!),
    ref: ([y, t]) => R.squaredHinge(y!, t!),
  },
];
