#!/usr/bin/env node
/**
 * `npm run demo:model`: trains the MNIST bnn-cnn with the project's own CLI and exports it
 * to web/public/models/mnist-bnn-cnn.onebit, the model the demo page and the browser test
 * load. The last layer has binary weights (`--last bwn`): the engine has no float layer
 * on binary input yet.
 *
 *     npm run build && npm run demo:model -- --epochs 3
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist/cli/main.js");
const out = path.join(root, "web/public/models/mnist-bnn-cnn.onebit");
const runDir = path.join(root, "runs/demo-bnn-cnn-mnist");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};

function onebit(argv) {
  console.log(`$ onebit ${argv.join(" ")}`);
  const r = spawnSync(process.execPath, [cli, ...argv], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`onebit ${argv[0]} failed with exit code ${r.status}`);
}

if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
mkdirSync(path.dirname(out), { recursive: true });
onebit([
  "train",
  "--model",
  "bnn-cnn",
  "--dataset",
  "mnist",
  "--last",
  "bwn",
  "--epochs",
  flag("--epochs", "2"),
  "--seed",
  flag("--seed", "1"),
  "--out",
  runDir,
]);
onebit(["export", path.join(runDir, "last.ckpt"), "--out", out]);
onebit(["run", out, "--dataset", "mnist"]);
