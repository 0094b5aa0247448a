/**
 * Differentiable ops. Each is a plain function of tensors (no prototype patching); its
 * forward and backward live in one file. See src/tensor/index.ts for how to run them.
 */
export { add, div, mul, type Operand, sub } from "./arith.js";
export { type BatchNormOptions, batchNorm, invStdOf } from "./batchNorm.js";
export {
  type BinaryConv2dOptions,
  type BinaryProductOptions,
  binaryConv2d,
  binaryMatmul,
} from "./binaryProduct.js";
export { broadcastShape } from "./broadcast.js";
export { concat } from "./concat.js";
export { type Conv2dOptions, conv2d } from "./conv2d.js";
export { type DepthwiseConv2dOptions, depthwiseConv2d } from "./depthwiseConv2d.js";
export { type DistillationLossOptions, distillationLoss } from "./distillation.js";
export { type DropoutOptions, dropout } from "./dropout.js";
export { softmaxCrossEntropy, squaredHinge } from "./loss.js";
export { type MatmulOptions, matmul } from "./matmul.js";
export { avgPool2d, globalAvgPool2d, maxPool2d, type Pool2dOptions } from "./pool.js";
export { prelu } from "./prelu.js";
export { mean, sum } from "./reduce.js";
export { flatten, permute, reshape, transpose } from "./shape.js";
export { abs, exp, hardtanh, log, neg, relu, signSte, sqrt, square } from "./unary.js";
