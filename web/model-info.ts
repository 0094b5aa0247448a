/**
 * What the page says about the model: its packed size beside the size of the same
 * network in float32, where every stored value (each binary weight, each threshold,
 * scale or float weight) would take 4 bytes.
 */
import type { EngineModel, Tensor } from "../src/engine/index.js";

/** Logical elements of every tensor in the model (a binary weight counts as one). */
export function parameterCount(model: EngineModel): { binary: number; other: number } {
  let binary = 0;
  let other = 0;
  const visit = (value: unknown, key: string): void => {
    if (!value || typeof value !== "object") return;
    const t = value as Partial<Tensor>;
    if (t.dtype && Array.isArray(t.shape) && ArrayBuffer.isView(t.data)) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.dtype === "bits") {
        // Flip bits of pools and thresholds are bookkeeping, not parameters.
        if (key === "weights") binary += n;
      } else other += n;
      return;
    }
    for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  for (const layer of model.layers) visit(layer, "");
  return { binary, other };
}

/** Bytes as "12.3 KB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** Softmax of one row of scores, in float64. */
export function softmax(scores: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]!);
  const e = Array.from({ length: scores.length }, (_, i) => Math.exp(scores[i]! - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The `.onebit` format version in a file's bytes (offsets 8 and 10, little-endian; docs/format.md). */
export function formatVersion(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `${view.getUint16(8, true)}.${view.getUint16(10, true)}`;
}

/** The model's structure as the panel shows it: a chain or a graph, its binary layers and shortcuts. */
export function graphInfo(model: EngineModel): {
  /** Some layer names its inputs (.onebit 2.0). */
  graph: boolean;
  layers: number;
  binary: number;
  /** `add` layers: the residual shortcuts joining a block's input to its output. */
  adds: number;
} {
  const layers = model.layers;
  return {
    graph: layers.some((l) => l.inputs !== undefined),
    layers: layers.length,
    binary: layers.filter((l) => l.kind.startsWith("binary_")).length,
    adds: layers.filter((l) => l.kind === "add").length,
  };
}
