/**
 * The one error a bad model raises, from the file reader and from the model checker alike.
 * Its message names the file (when known), the layer (index, name, kind) and what is wrong:
 *
 *     mnist.onebit: layer 3 'conv2' (binary_conv2d): weights: expected shape [64,3,3,32], got [64,3,3,16]
 */
import { OnebitError } from "../errors.js";

export interface LayerRef {
  index: number;
  name?: string | undefined;
  kind?: string | undefined;
}

export class ModelFormatError extends OnebitError {
  override readonly name = "ModelFormatError";
  /** What is wrong, without the file and layer prefix. */
  readonly detail: string;
  readonly file: string | undefined;
  readonly layer: LayerRef | undefined;

  constructor(detail: string, file?: string, layer?: LayerRef) {
    super(`${file ?? "onebit model"}: ${layer ? `${describeLayer(layer)}: ` : ""}${detail}`);
    this.detail = detail;
    this.file = file;
    this.layer = layer;
  }
}

function describeLayer(layer: LayerRef): string {
  // Names come from untrusted files: keep the message short.
  const shown =
    layer.name !== undefined && layer.name.length > 64 ? `${layer.name.slice(0, 64)}...` : layer.name;
  const name = shown !== undefined ? ` '${shown}'` : "";
  const kind = layer.kind !== undefined ? ` (${layer.kind})` : "";
  return `layer ${layer.index}${name}${kind}`;
}
