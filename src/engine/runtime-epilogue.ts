/**
 * Load-time fusion of a residual block's tail into its binary conv (the file format stays
 * unfused: this is a planning step of `predict`; `trace` runs every layer on its own).
 *
 * A binary_conv2d with an affine (float) output, on the direct kernel, is followed by a
 * chain of per-channel float layers, each the only reader of the one before: relu,
 * batchnorm, shift, prelu, and at most one two-input add (the shortcut's). QuickNet's block is conv -> relu ->
 * batchnorm -> add, Bi-Real's conv -> batchnorm -> add, ReActNet's conv -> batchnorm ->
 * add -> shift -> prelu -> shift. The chain runs as the conv's epilogue (kernels/epilogue.ts)
 * over each output row while it is in cache, writing the chain's result into the conv's
 * output buffer once. Where a `bitpack` (RSign's thresholds or none) reads the chain's
 * result, its bits are packed in the same epilogue; the bitpack's own step then does
 * nothing and owns the packed buffer (so liveness frees it after its last reader).
 *
 * Every op is the layer's own float32 step, so values and bits equal the unfused plan's
 * (test/engine/runtime-epilogue.test.ts compares them, and `verify` the training graph).
 */
import { bconv2dThresholdScratchWords, isPointwise, preferIm2col } from "../kernels/binaryTypes.js";
import { type EpilogueOp, epilogueWords, writeEpilogue } from "../kernels/epilogue.js";
import type { Backend } from "../kernels/index.js";
import { directConvJob, threadCopy } from "../kernels/wasm/binaryCalls.js";
import { byImages } from "../kernels/wasm/calls.js";
import type { Layer } from "./model.js";
import { type Buffer, Buffers, type SpareBlocks, type Step } from "./runtime-buffers.js";
import { convTables, poolJob, windowOf } from "./runtime-steps.js";
import type { LayerWeights } from "./runtime-weights.js";

/** A conv and the layers fused into its epilogue. */
export interface EpilogueRun {
  /** Index of the binary_conv2d. */
  conv: number;
  /** The conv and its chain's layers, ascending (other layers may lie between them). */
  members: number[];
  /** Index of the chain's last layer (the conv itself when the chain is empty): the run's step is planned there. */
  end: number;
  /** Index of the bitpack reading layer `end`, packed in the epilogue; -1: none. */
  pack: number;
}

const CHAIN_KINDS = new Set(["relu", "batchnorm", "shift", "prelu", "add"]);

/** The names each layer reads (a chain layer without `inputs` reads the one before). */
export function inputsOf(layers: readonly Layer[], i: number): readonly string[] {
  return layers[i]!.inputs ?? (i > 0 ? [layers[i - 1]!.name] : []);
}

/** True where the conv runs on the direct kernel with the affine output fused in. */
export function directAffine(layer: Layer, weights: LayerWeights, n: number): boolean {
  if (layer.kind !== "binary_conv2d" || weights.transform?.kind !== "affine") return false;
  const [, kh, kw] = layer.weights.shape as [number, number, number];
  const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
  return !preferIm2col(g) && !isPointwise(g);
}

/**
 * The epilogue runs of a model, by conv index; `fusable(i)` says whether conv i may take
 * one. A chain goes on to the only reader of its last layer, wherever it lies (Bi-Real's
 * downsampling blocks list their shortcut between the conv and the add), so the run's
 * step is planned at its last layer, when every operand exists.
 */
export function findEpilogueRuns(
  layers: readonly Layer[],
  fusable: (i: number) => boolean,
): Map<number, EpilogueRun> {
  const readers = new Map<string, number[]>();
  layers.forEach((_, i) => {
    for (const name of inputsOf(layers, i)) readers.set(name, [...(readers.get(name) ?? []), i]);
  });
  const runs = new Map<number, EpilogueRun>();
  for (let i = 0; i < layers.length; i++) {
    if (!fusable(i)) continue;
    const members = [i];
    let adds = 0;
    for (;;) {
      const cur = layers[members[members.length - 1]!]!.name;
      const next = readers.get(cur) ?? [];
      if (next.length !== 1) break;
      const j = next[0]!;
      const l = layers[j]!;
      const ins = inputsOf(layers, j);
      if (!CHAIN_KINDS.has(l.kind) || l.out.layout !== "float") break;
      if (l.kind === "add") {
        if (ins.length !== 2 || ins[0] === ins[1] || adds > 0) break;
        adds++;
      } else if (ins.length !== 1) break;
      members.push(j);
    }
    const end = members[members.length - 1]!;
    const packs = (readers.get(layers[end]!.name) ?? []).filter((r) => layers[r]!.kind === "bitpack");
    const pack = packs.length === 1 ? packs[0]! : -1;
    if (end === i && pack < 0) continue;
    runs.set(i, { conv: i, members, end, pack });
  }
  return runs;
}

/**
 * The steps of one run at batch size n: the conv with its epilogue (covering layers conv
 * .. end, out: the chain's result), and the bitpack's step (out: the packed bits) if the
 * run packs. `read(name)` gives the buffer holding a layer's output.
 */
export function makeEpilogueSteps(
  backend: Backend,
  layers: readonly Layer[],
  weights: readonly LayerWeights[],
  run: EpilogueRun,
  n: number,
  read: (name: string) => Buffer,
  spare?: SpareBlocks,
): { conv: Step; pack?: Step } {
  const layer = layers[run.conv]!;
  if (layer.kind !== "binary_conv2d") throw new Error(`engine: epilogue run at '${layer.name}', not a conv`);
  const w = weights[run.conv]!;
  const t = w.transform;
  if (t?.kind !== "affine") throw new Error(`engine: conv '${layer.name}' has no affine output`);
  const bufs = new Buffers(backend, spare);
  const packBufs = new Buffers(backend, spare);
  const [o, kh, kw] = layer.weights.shape as [number, number, number];
  const g = windowOf(n, layer.in, [kh, kw], layer.strides, layer.padding);
  const pixels = n * g.outH * g.outW;
  const x = read(inputsOf(layers, run.conv)[0]!).ptr;
  const out = bufs.out(pixels * o);
  const ops: EpilogueOp[] = [];
  for (const [m, j] of run.members.entries()) {
    if (m === 0) continue;
    const l = layers[j]!;
    const lw = weights[j]!;
    if (l.kind === "relu") ops.push({ op: "relu" });
    else if (l.kind === "batchnorm") ops.push({ op: "batchnorm", ...lw.batchNorm! });
    else if (l.kind === "shift") ops.push({ op: "shift", bias: lw.bias! });
    else if (l.kind === "prelu") ops.push({ op: "prelu", alpha: lw.weights });
    else if (l.kind === "add") {
      const chained = layers[run.members[m - 1]!]!.name;
      const other = inputsOf(layers, j).find((name) => name !== chained)!;
      ops.push({ op: "add", other: read(other).ptr });
    }
  }
  let packOut: Buffer | undefined;
  if (run.pack >= 0) {
    const p = layers[run.pack]!;
    packOut = packBufs.out(pixels * ((o + 31) >>> 5));
    if (p.out.layout !== "bits") throw new Error(`engine: '${p.name}' packs to ${p.out.layout}`);
    ops.push({ op: "pack", bits: packOut.ptr, thresholds: weights[run.pack]!.weights });
  }
  const prog = bufs.take(epilogueWords(ops.length));
  writeEpilogue(backend.heap, prog.ptr, ops);
  const scratchWords = bconv2dThresholdScratchWords(g, o);
  const scratch = scratchWords ? bufs.take(scratchWords).ptr : 0;
  const tables = convTables(bufs, backend, g, layer.padValue, o, w.weights, 0, scratch);
  const p = {
    g,
    padValue: layer.padValue,
    outC: o,
    x,
    weights: w.weights,
    thr: 0,
    flip: 0,
    out: out.ptr,
    scale: t.scale,
    bias: t.bias,
    epilogue: prog.ptr,
    tables,
  };
  const job = poolJob(
    backend,
    true,
    byImages(n, directConvJob(p, threadCopy(p, scratch, backend.pool?.scratchBytes ?? 0))),
  );
  const conv: Step = {
    layer,
    out,
    run: () =>
      backend.binary.conv2dAffine(
        g,
        layer.padValue,
        o,
        x,
        w.weights,
        t.scale,
        t.bias,
        out.ptr,
        scratch,
        prog.ptr,
        tables,
      ),
    job,
    free: () => bufs.free(),
    releaseOutput: () => bufs.release(out.ptr, out.length),
  };
  if (!packOut) return { conv };
  const bits = packOut;
  const pack: Step = {
    layer: layers[run.pack]!,
    out: bits,
    run: () => {},
    job: poolJob(backend, true, byImages(n)),
    free: () => packBufs.free(),
    releaseOutput: () => packBufs.release(bits.ptr, bits.length),
  };
  return { conv, pack };
}
