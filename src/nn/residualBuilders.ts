/**
 * The residual BNNs since 2018, as model specs. Each keeps a real-valued path through the
 * network and binarizes only the input of each 3x3 conv; the stem and the classifier are
 * float. All scale from 28x28x1 to 224x224x3: at 112 pixels and more the stem downsamples
 * by 4 (ImageNet's), below it keeps the resolution.
 *
 * - `birealnet` (Liu et al. 2018, Bi-Real Net; Larq Zoo's BiRealNet): blocks
 *   out = BN(bconv3x3(approx_sign(x))) + x, binary weights magnitude_aware_sign (alpha per
 *   output channel), padding 0. A stage's first block doubles the channels with a stride-2
 *   binary conv; its shortcut is AvgPool 2x2 -> float 1x1 conv -> BN. Head: global average
 *   pool -> float dense. At 224 with stages [4, 4, 4, 4] and width 64 it is Bi-Real-18.
 * - `reactnet` (Liu et al. 2020, ReActNet, on the Bi-Real backbone): the same blocks with
 *   RSign (a learned per-channel shift before the sign) and RPReLU after the add
 *   (shift -> PReLU -> shift).
 * - `quicknet` (Bannink et al. 2021, Larq Zoo's QuickNet): blocks
 *   out = x + BN(ReLU(bconv3x3(ste_sign(x)))) with ste_sign clipped at 1.25 (inputs and
 *   latent weights), padding +1; no shortcut crosses a stage: a float transition (ReLU,
 *   max-pool 2 stride 1, a fixed 3x3 blur depthwise conv stride 2, float 1x1 conv, BN)
 *   changes the channels. Stem: float conv3x3/2 (width/4) -> BN -> ReLU -> depthwise
 *   3x3/2 -> BN -> float 1x1 (width) -> BN. At 224 with stages [4, 4, 4, 4] and width 64 it
 *   is QuickNet (Small: [4, 4, 4, 4] of 32..256; Large: [6, 8, 12, 6]).
 * Float twins (`float: true`): the same graph without quantizers; Bi-Real's and ReActNet's
 * sign becomes a ReLU.
 */
import { OptionsError } from "../errors.js";
import { booleanOption, numberIn, positiveInteger, rejectUnknownKeys, showValue } from "../util/options.js";
import type { ModelConfig } from "./checkpointFormat.js";
import { input, layers, model, type SymbolicTensor } from "./functional.js";
import type { ModelSpec } from "./spec.js";

/**
 * Options of the residual builders (`birealnet`, `reactnet`, `quicknet`): input shape, classes,
 * width, stages, first and last layers.
 */
export interface ResidualOptions {
  /** Input shape [H, W, C] (set from the data set). Default [28, 28, 1]. */
  inputShape?: number[];
  /** Number of classes. Default 10. */
  classes?: number;
  /** The float twin. */
  float?: boolean;
  /** Channels of the first stage; each stage doubles them. Default 64 at >= 112 pixels, else 32. */
  width?: number;
  /** Blocks per stage. Default [4, 4, 4, 4] at >= 112 pixels, else [2, 2, 2]. */
  stages?: number[];
  /**
   * Channels of each stage (one per stage), instead of `width` doubling per stage; `width`
   * is then filters[0]. QuickNetSmall is [32, 64, 256, 512].
   */
  filters?: number[];
  /** Batch-norm momentum (Keras convention). Default: Larq Zoo's, 0.8 for Bi-Real and ReActNet, 0.9 for QuickNet. */
  momentum?: number;
}

const KEYS = ["inputShape", "classes", "float", "width", "stages", "filters", "momentum"];

interface Resolved {
  shape: number[];
  classes: number;
  float: boolean;
  width: number;
  stages: number[];
  /** Channels of each stage. */
  filters: number[];
  momentum: number;
  /** The ImageNet stem (downsampling by 4). */
  large: boolean;
}

const HINTS = {
  widthMultiplier: "the residual builders set their first-stage channels with 'width'",
};

function resolve(name: string, raw: Record<string, unknown>, defaultMomentum: number): Resolved {
  rejectUnknownKeys(name, raw, KEYS, HINTS);
  const o = raw as ResidualOptions;
  const shape = o.inputShape ?? [28, 28, 1];
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new OptionsError(
      name,
      "inputShape",
      `inputShape must be [height, width, channels], positive integers, got ${showValue(shape)}`,
    );
  }
  const large = shape[0]! >= 112 && shape[1]! >= 112;
  const width = o.width ?? (large ? 64 : 32);
  const stages = o.stages ?? (large ? [4, 4, 4, 4] : [2, 2, 2]);
  const classes = o.classes ?? 10;
  const momentum = o.momentum ?? defaultMomentum;
  if (!Number.isSafeInteger(width) || width < 4 || width % 4 !== 0) {
    throw new OptionsError(name, "width", `width must be a positive multiple of 4, got ${showValue(width)}`);
  }
  if (
    !Array.isArray(stages) ||
    stages.length < 1 ||
    !stages.every((n) => Number.isSafeInteger(n) && n >= 1)
  ) {
    throw new OptionsError(
      name,
      "stages",
      `stages must list positive block counts, e.g. [4, 4, 4, 4], got ${showValue(stages)}`,
    );
  }
  positiveInteger(name, "classes", classes);
  numberIn(name, "momentum", momentum, 0, 1, { hi: true });
  booleanOption(name, "float", o.float);
  const filters = o.filters ?? stages.map((_, s) => width * 2 ** s);
  if (
    !Array.isArray(filters) ||
    filters.length !== stages.length ||
    !filters.every((f) => Number.isSafeInteger(f) && f >= 4 && f % 4 === 0)
  ) {
    throw new OptionsError(
      name,
      "filters",
      `filters must list one multiple of 4 per stage (${stages.length}), got ${showValue(filters)}`,
    );
  }
  if (o.filters && o.width !== undefined && o.width !== filters[0]) {
    throw new OptionsError(name, "width", `width ${o.width} disagrees with filters[0] = ${filters[0]}`);
  }
  return { shape, classes, float: o.float ?? false, width: filters[0]!, stages, filters, momentum, large };
}

/** Bi-Real Net's and ReActNet's graph; `react` adds RSign and RPReLU. */
function biReal(name: string, o: Resolved, react: boolean): ModelSpec {
  const bn = (n?: string) => layers.batchNorm({ momentum: o.momentum, name: n });
  const x = input({ shape: o.shape });
  let h: SymbolicTensor;
  if (o.large) {
    h = layers
      .conv2d({ filters: o.width, kernelSize: 7, stride: 2, padding: "same", name: "stem_conv" })
      .apply(x);
    h = bn("stem_bn").apply(h);
    h = layers.maxPool({ size: 3, stride: 2, padding: "same", name: "stem_pool" }).apply(h);
  } else {
    h = bn("stem_bn").apply(layers.conv2d({ filters: o.width, padding: "same", name: "stem_conv" }).apply(x));
  }
  o.stages.forEach((blocks, s) => {
    for (let b = 0; b < blocks; b++) {
      const id = `stage${s + 1}_block${b + 1}`;
      const down = s > 0 && b === 0;
      const filters = o.filters[s]!;
      let shortcut = h;
      if (down) {
        shortcut = layers.avgPool({ size: 2, padding: "same", name: `${id}_pool` }).apply(shortcut);
        shortcut = layers.conv2d({ filters, kernelSize: 1, name: `${id}_shortcut` }).apply(shortcut);
        shortcut = bn(`${id}_shortcut_bn`).apply(shortcut);
      }
      let y = react ? layers.shift({ name: `${id}_rsign` }).apply(h) : h;
      if (o.float) y = layers.relu({ name: `${id}_relu` }).apply(y);
      y = layers
        .quantConv2d({
          filters,
          stride: down ? 2 : 1,
          padding: "same",
          padValue: 0,
          inputQuantizer: o.float ? null : "approx_sign",
          kernelQuantizer: o.float ? null : "magnitude_aware_sign",
          kernelClip: o.float ? 0 : 1,
          name: `${id}_conv`,
        })
        .apply(y);
      h = layers.add({ name: `${id}_add` }).apply([bn(`${id}_bn`).apply(y), shortcut]);
      if (react) {
        h = layers.shift({ name: `${id}_rprelu_in` }).apply(h);
        h = layers.prelu({ name: `${id}_rprelu` }).apply(h);
        h = layers.shift({ name: `${id}_rprelu_out` }).apply(h);
      }
    }
  });
  h = layers.globalAvgPool({ name: "pool" }).apply(h);
  h = layers.dense({ units: o.classes, useBias: true, name: "classifier" }).apply(h);
  return model({ inputs: x, outputs: h, name });
}

/** QuickNet's graph. */
function quickNet(name: string, o: Resolved): ModelSpec {
  const bn = (n: string) => layers.batchNorm({ momentum: o.momentum, eps: 1e-5, name: n });
  const x = input({ shape: o.shape });
  const stride = o.large ? 2 : 1;
  let h = layers.conv2d({ filters: o.width / 4, stride, padding: "same", name: "stem_conv" }).apply(x);
  h = layers.relu({ name: "stem_relu" }).apply(bn("stem_bn").apply(h));
  h = layers.depthwiseConv2d({ stride, padding: "same", name: "stem_depthwise" }).apply(h);
  h = bn("stem_depthwise_bn").apply(h);
  h = bn("stem_pointwise_bn").apply(
    layers.conv2d({ filters: o.width, kernelSize: 1, name: "stem_pointwise" }).apply(h),
  );
  const sign = o.float ? null : { name: "ste_sign", options: { clipValue: 1.25 } };
  let channels = o.width;
  o.stages.forEach((blocks, s) => {
    if (s > 0) {
      const id = `transition${s}`;
      channels = o.filters[s]!;
      h = layers.relu({ name: `${id}_relu` }).apply(h);
      h = layers.maxPool({ size: 2, stride: 1, name: `${id}_pool` }).apply(h);
      h = layers.depthwiseConv2d({ stride: 2, padding: "same", kernel: "blur", name: `${id}_blur` }).apply(h);
      h = layers.conv2d({ filters: channels, kernelSize: 1, name: `${id}_pointwise` }).apply(h);
      h = bn(`${id}_bn`).apply(h);
    }
    for (let b = 0; b < blocks; b++) {
      const id = `stage${s + 1}_block${b + 1}`;
      let y = layers
        .quantConv2d({
          filters: channels,
          padding: "same",
          padValue: 1,
          inputQuantizer: sign,
          kernelQuantizer: sign,
          kernelClip: o.float ? 0 : 1.25,
          name: `${id}_conv`,
        })
        .apply(h);
      y = bn(`${id}_bn`).apply(layers.relu({ name: `${id}_relu` }).apply(y));
      h = layers.add({ name: `${id}_add` }).apply([h, y]);
    }
  });
  h = layers.relu({ name: "head_relu" }).apply(h);
  h = layers.globalAvgPool({ name: "pool" }).apply(h);
  h = layers.dense({ units: o.classes, useBias: true, name: "classifier" }).apply(h);
  return model({ inputs: x, outputs: h, name });
}

export interface ResidualBuilder {
  about: string;
  batchSize: number;
  spec(config: ModelConfig): ModelSpec;
}

export const residualBuilders: Record<string, ResidualBuilder> = {
  birealnet: {
    batchSize: 64,
    about:
      "Bi-Real Net: a real shortcut around each binary 3x3 conv (approx_sign, alpha-scaled weights); --width, --stages; Bi-Real-18 at 224",
    spec: (c) => biReal("birealnet", resolve("birealnet", c.options, 0.8), false),
  },
  reactnet: {
    batchSize: 64,
    about: "ReActNet on the Bi-Real backbone: RSign (learned thresholds) and RPReLU around each block",
    spec: (c) => biReal("reactnet", resolve("reactnet", c.options, 0.8), true),
  },
  quicknet: {
    batchSize: 64,
    about:
      "QuickNet (Larq Zoo): x + BN(ReLU(bconv(ste_sign 1.25))), pad +1, float blur-pool transitions between stages",
    spec: (c) => quickNet("quicknet", resolve("quicknet", c.options, 0.9)),
  },
};
