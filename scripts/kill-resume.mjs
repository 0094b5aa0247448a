#!/usr/bin/env node
/**
 * `npm run kill-resume`: interrupted training must lose nothing but the epoch in flight.
 *
 * 1. A reference run: `onebit train` (bnn-mlp on an MNIST slice, several short epochs) to
 *    the end, uninterrupted.
 * 2. The same command with `--resume`, killed with SIGKILL at a random moment (anywhere:
 *    start-up, a training step, an evaluation, a checkpoint write) `--kills` times, resumed
 *    after each kill. After every kill: the checkpoint is readable (decodeCheckpoint), its
 *    epoch never goes back, and at most one epoch the run reported finished is missing from
 *    it. Then one last `--resume` runs to the end, and its checkpoint must be byte-identical
 *    to the reference's.
 * 3. SIGINT: a fresh run gets Ctrl-C in the middle of an epoch; it must exit by itself
 *    (code 130) after writing a readable checkpoint of the last finished epoch, and a
 *    resume from there again ends byte-identical to the reference.
 *
 * Kill moments come from a seeded generator (--seed), so a failure can be replayed.
 *
 *     npm run build && npm run kill-resume -- [--kills 20] [--epochs 30] [--seed 1] [--keep]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist/cli/main.js");

function parseArgs(argv) {
  const o = { kills: 20, epochs: 30, seed: 1, width: 128, limitTrain: 4000, limitTest: 500, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => Number(argv[++i]);
    if (a === "--kills") o.kills = num();
    else if (a === "--epochs") o.epochs = num();
    else if (a === "--seed") o.seed = num();
    else if (a === "--width") o.width = num();
    else if (a === "--limit-train") o.limitTrain = num();
    else if (a === "--limit-test") o.limitTest = num();
    else if (a === "--keep") o.keep = true;
    else throw new Error(`kill-resume: unknown option ${a}`);
  }
  return o;
}

/** sfc32-free tiny seeded generator (mulberry32): uniform in [0, 1). */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Starts `onebit train`; resolves when it exits with { code, signal, epochs (the finished
 * epochs it reported on stderr), firstEpochMs, epochMs (median time between epoch lines),
 * stderr }. `control(child, events)` may kill it.
 */
function train(o, out, extra, control) {
  const args = [
    cli,
    "train",
    "--model",
    "bnn-mlp",
    "--dataset",
    "mnist",
    "--width",
    String(o.width),
    "--limit-train",
    String(o.limitTrain),
    "--limit-test",
    String(o.limitTest),
    "--epochs",
    String(o.epochs),
    "--batch",
    "100",
    "--seed",
    "7",
    // One thread: the same run on any machine, and no kernel workers to outlive a kill.
    "--threads",
    "1",
    "--out",
    out,
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const t0 = performance.now();
  const times = [];
  let stderr = "";
  let epochs = 0;
  const listeners = [];
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    for (const m of String(chunk).matchAll(/^epoch (\d+)\/\d+:/gm)) {
      epochs = Math.max(epochs, Number(m[1]));
      times.push(performance.now() - t0);
      for (const f of listeners) f(epochs);
    }
  });
  child.stdout.resume();
  control?.(child, { onEpoch: (f) => listeners.push(f) });
  // A run that never exits is a failure to report, not a reason to wait forever.
  const limit = setTimeout(() => {
    stderr += "\n[kill-resume: no exit within 120 s; killed]";
    child.kill("SIGKILL");
  }, 120_000);
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      clearTimeout(limit);
      const gaps = times
        .slice(1)
        .map((t, i) => t - times[i])
        .sort((a, b) => a - b);
      resolve({
        code,
        signal,
        epochs,
        firstEpochMs: times[0],
        epochMs: gaps.length ? gaps[gaps.length >> 1] : undefined,
        ms: performance.now() - t0,
        stderr,
      });
    });
  });
}

/** The checkpoint's epoch (decoded in full: any unreadable file throws), or 0 when absent. */
async function checkpointEpoch(file) {
  if (!fs.existsSync(file)) return 0;
  const { decodeCheckpoint } = await import(path.join(root, "dist/nn/checkpointFormat.js"));
  const ck = decodeCheckpoint(new Uint8Array(fs.readFileSync(file)), file);
  const history = ck.state.history;
  if (!Array.isArray(history) || history.length !== ck.epoch) {
    throw new Error(`${file}: epoch ${ck.epoch} but ${history?.length} history records`);
  }
  return ck.epoch;
}

const sameBytes = (a, b) => Buffer.compare(fs.readFileSync(a), fs.readFileSync(b)) === 0;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(cli)) throw new Error("kill-resume: dist/ is missing: run `npm run build` first");
  const rng = seeded(o.seed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-kill-resume-"));
  const failures = [];
  const check = (ok, message) => {
    if (!ok) failures.push(message);
    return ok;
  };
  console.log(
    `kill-resume: bnn-mlp width ${o.width} on ${o.limitTrain} MNIST images, ${o.epochs} epochs, ${o.kills} kills, seed ${o.seed}; work in ${work}`,
  );

  const refDir = path.join(work, "reference");
  const ref = await train(o, refDir, []);
  if (ref.code !== 0) throw new Error(`reference run failed (${ref.code}):\n${ref.stderr}`);
  const refFile = path.join(refDir, "last.ckpt");
  const epochMs = ref.epochMs ?? 300;
  console.log(
    `reference: ${o.epochs} epochs in ${(ref.ms / 1000).toFixed(1)} s (first epoch done at ${ref.firstEpochMs?.toFixed(0)} ms, then ${epochMs.toFixed(0)} ms per epoch)`,
  );

  // Kill moments: uniform from halfway through start-up to three epochs after it, so runs
  // are killed while loading, training, evaluating and writing checkpoints.
  const startup = ref.firstEpochMs ?? 1000;
  const earliest = 0.5 * startup;
  const window = 0.5 * startup + 3 * epochMs;
  const runDir = path.join(work, "killed");
  const runFile = path.join(runDir, "last.ckpt");
  let kills = 0;
  let lost = 0;
  for (let k = 0; k < o.kills; k++) {
    const before = await checkpointEpoch(runFile);
    if (before >= o.epochs) {
      check(false, `training finished after ${kills} kills: raise --epochs`);
      break;
    }
    const delay = earliest + rng() * window;
    const r = await train(o, runDir, ["--resume"], (child) => {
      setTimeout(() => child.kill("SIGKILL"), delay);
    });
    const killed = r.signal === "SIGKILL";
    if (killed) kills++;
    else check(r.code === 0, `run ${k} exited with code ${r.code}:\n${r.stderr}`);
    let after;
    try {
      after = await checkpointEpoch(runFile);
    } catch (e) {
      check(false, `after kill ${k}: checkpoint unreadable: ${e.message}`);
      break;
    }
    const reported = Math.max(before, r.epochs);
    lost += reported - after;
    check(after >= before, `after kill ${k}: checkpoint went back from epoch ${before} to ${after}`);
    check(
      reported - after <= 1,
      `after kill ${k}: the run reported epoch ${reported} finished, the checkpoint holds ${after}`,
    );
    const temps = fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((f) => f.endsWith(".tmp")).length : 0;
    console.log(
      `  kill ${k + 1}/${o.kills} at ${delay.toFixed(0)} ms: ${killed ? "SIGKILL" : `exited ${r.code}`}; epochs reported ${r.epochs}, checkpoint epoch ${before} -> ${after}; stale temp files ${temps}`,
    );
  }
  const last = await train(o, runDir, ["--resume"]);
  check(last.code === 0, `final resume exited with code ${last.code}:\n${last.stderr}`);
  const identical = check(
    sameBytes(runFile, refFile),
    "final checkpoint after the kills differs from the uninterrupted run's",
  );
  console.log(
    `SIGKILL: ${kills} kills, ${lost} finished epochs lost in all (<= 1 per kill), final checkpoint ${identical ? "byte-identical to" : "DIFFERENT from"} the reference`,
  );

  // SIGINT in the middle of epoch 2: the run finishes that epoch, writes it and stops.
  const intDir = path.join(work, "sigint");
  const intFile = path.join(intDir, "last.ckpt");
  let sentAt = 0;
  const sig = await train(o, intDir, [], (child, events) => {
    events.onEpoch((epoch) => {
      if (epoch === 1) {
        setTimeout(
          () => {
            sentAt = performance.now();
            child.kill("SIGINT");
          },
          (0.2 + 0.5 * rng()) * epochMs,
        );
      }
    });
  });
  const stopMs = performance.now() - sentAt;
  let intEpoch = -1;
  try {
    intEpoch = await checkpointEpoch(intFile);
  } catch (e) {
    check(false, `after SIGINT: checkpoint unreadable: ${e.message}`);
  }
  check(sig.code === 130, `after SIGINT: exit code ${sig.code} (signal ${sig.signal}), expected 130`);
  check(
    intEpoch === sig.epochs && intEpoch < o.epochs,
    `after SIGINT: the run reported epoch ${sig.epochs}, the checkpoint holds ${intEpoch}`,
  );
  const resumed = await train(o, intDir, ["--resume"]);
  check(resumed.code === 0 && sameBytes(intFile, refFile), "resume after SIGINT is not byte-identical");
  console.log(
    `SIGINT: stopped ${stopMs.toFixed(0)} ms after the signal with code ${sig.code}, checkpoint of epoch ${intEpoch} (reported ${sig.epochs}); resumed to the end ${sameBytes(intFile, refFile) ? "byte-identical" : "DIFFERENT"}`,
  );

  if (!o.keep) fs.rmSync(work, { recursive: true, force: true });
  if (failures.length) {
    console.log(`FAILED:\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log("kill-resume: passed");
  }
}

main().catch((e) => {
  console.error(e.stack ?? e);
  process.exitCode = 2;
});
