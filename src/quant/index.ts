/**
 * Quantizers (forward + pseudo-gradient, named, with `bits`) and XNOR-Net scaling.
 */
export { quantize, scaleRows } from "./op.js";
export {
  approxSign,
  channelMeanAbs,
  dorefa,
  getQuantizer,
  magnitudeAwareSign,
  type QuantContext,
  type Quantizer,
  type QuantizerSpec,
  quantizerNames,
  quantizerSpec,
  sign,
  signValue,
  steSign,
  stochasticSign,
} from "./quantizers.js";
export { xnorActivationScale } from "./xnorScale.js";
