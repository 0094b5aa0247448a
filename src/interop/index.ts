/**
 * ONNX interop: import BNNs exported by PyTorch/Larq (binarization recognized, packed for
 * the engine), export engine models as standard ONNX, and verify either against
 * onnxruntime-node.
 *
 *     import { importOnnx, exportOnnx } from "./interop/index.js";
 *     const { model } = importOnnx(onnxBytes, { inputRange: [-1, 1] });   // -> EngineModel
 *     const onnx = exportOnnx(model);                                      // -> ModelProto bytes
 */
export { exportOnnx } from "./export-onnx.js";
export {
  exportCheckpointOnnx,
  exportedInputLayout,
  importOnnxFile,
  type VerifyChoice,
  verifyOnnxOnDataset,
} from "./files.js";
export { type ImportOptions, type ImportResult, importOnnx, type OnnxInputLayout } from "./import.js";
export { OPSET_RANGE } from "./import-graph.js";
export { SUPPORTED_OPS } from "./import-ops.js";
export { decodeOnnx, encodeOnnx, OnnxError, type OnnxModel } from "./onnx-proto.js";
export { formatOnnxReport, ONNX_SCORE_TOLERANCE, type OnnxVerifyReport, verifyOnnx } from "./verify-onnx.js";
