#!/usr/bin/env node
/**
 * Writes the valid files the fuzzers mutate (test/harden/seeds/): tiny IDX data sets (raw and
 * gzip), a CIFAR-10 batch, checkpoints of three small trained models and their `.onebit`
 * exports. Deterministic; rerun after a format change (`npm run build` first):
 *
 *     node scripts/fuzz/make-seeds.mjs
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { encodeIdx, loadIdxFolder, MNIST_CLASSES } from "../../dist/data/index.js";
import { encodeModel } from "../../dist/engine/index.js";
import { loadTrainedModel } from "../../dist/export/checkpoint.js";
import { convertModel } from "../../dist/export/convert.js";
import { createContext } from "../../dist/tensor/index.js";
import { train } from "../../dist/train/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = path.join(root, "test/harden/seeds");
fs.mkdirSync(out, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-seeds-"));

let state = 12345;
const rnd = () => {
  state = (state * 1103515245 + 12345) >>> 0;
  return (state >>> 8) / 2 ** 24;
};

// An 18x18 "digits" set (the smallest the CNN builders take): class k lights every 10th
// pixel from k, plus noise (learnable, tiny).
const dataDir = path.join(work, "data");
fs.mkdirSync(dataDir);
for (const [stem, n] of [
  ["train", 64],
  ["t10k", 32],
]) {
  const labels = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 10));
  const images = new Uint8Array(n * 324);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 324; p++)
      images[i * 324 + p] = (p % 10 === labels[i] ? 200 : 0) + Math.floor(rnd() * 55);
  }
  const img = encodeIdx({ dtype: "uint8", dims: [n, 18, 18], data: images });
  const lab = encodeIdx({ dtype: "uint8", dims: [n], data: labels });
  fs.writeFileSync(path.join(dataDir, `${stem}-images-idx3-ubyte`), img);
  fs.writeFileSync(path.join(dataDir, `${stem}-labels-idx1-ubyte`), lab);
  if (stem === "t10k") {
    // The seeds: the first 4 test items.
    const img = encodeIdx({ dtype: "uint8", dims: [4, 18, 18], data: images.subarray(0, 4 * 324) });
    const lab = encodeIdx({ dtype: "uint8", dims: [4], data: labels.subarray(0, 4) });
    fs.writeFileSync(path.join(out, "images.idx"), img);
    fs.writeFileSync(path.join(out, "labels.idx"), lab);
    fs.writeFileSync(path.join(out, "images.idx.gz"), zlib.gzipSync(img, { level: 9 }));
    fs.writeFileSync(path.join(out, "labels.idx.gz"), zlib.gzipSync(lab, { level: 9 }));
  }
}
const floats = Float32Array.from({ length: 4 * 3 * 3 * 2 }, () => rnd() * 2 - 1);
fs.writeFileSync(
  path.join(out, "float32.idx"),
  encodeIdx({ dtype: "float32", dims: [4, 3, 3, 2], data: floats }),
);

// CIFAR-10: three 3073-byte records.
const cifar = Uint8Array.from({ length: 3 * 3073 }, (_, i) =>
  i % 3073 === 0 ? i % 10 : Math.floor(rnd() * 256),
);
fs.writeFileSync(path.join(out, "cifar.bin"), cifar);

const data = loadIdxFolder(dataDir, "mnist", MNIST_CLASSES);
const models = {
  mlp: { builder: "bnn-mlp", options: { width: 16, depth: 2, last: "bwn" } },
  cnn: { builder: "bnn-cnn", options: { widthMultiplier: 0.25, last: "bwn" } },
  bwn: { builder: "bwn-cnn", options: { widthMultiplier: 0.25 } },
};
for (const [name, model] of Object.entries(models)) {
  const ctx = await createContext("ref");
  const runDir = path.join(work, name);
  const r = await train({
    ctx,
    data,
    outDir: runDir,
    progress: "off",
    config: { model, epochs: 1, batchSize: 16, lr: 1e-2, seed: 1 },
  });
  r.model.dispose();
  const ckFile = path.join(runDir, "last.ckpt");
  fs.copyFileSync(ckFile, path.join(out, `${name}.ckpt`));
  const trained = await loadTrainedModel(ckFile, "ref");
  const engineModel = convertModel(trained.model, {
    classNames: data.classes,
    preprocessing: data.preprocessing,
    metadata: { dataset: data.name, epoch: 1 },
  });
  fs.writeFileSync(path.join(out, `${name}.onebit`), encodeModel(engineModel));
}
fs.rmSync(work, { recursive: true, force: true });
for (const f of fs.readdirSync(out).sort()) console.log(`${f}\t${fs.statSync(path.join(out, f)).size} bytes`);
