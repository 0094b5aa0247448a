/**
 * `onebit bench zoo`'s pure parts: option parsing, Larq Zoo's QuickNetSmall channels
 * (which the builder's doubling cannot express) and the report's JSON and table shape on
 * a tiny Bi-Real Net (32x32x3, stages [1, 1]) against a narrow ResNet-18 in both peers.
 */
import { describe, expect, it } from "vitest";
import { formatZoo, parseZooArgs, runZoo, ZOO, type ZooModel, zooSpec } from "../../src/bench/zoo.js";
import { builderSpec } from "../../src/nn/builders.js";
import { resolveSpec } from "../../src/nn/spec.js";

describe("bench zoo options", () => {
  it("defaults: every model, 1 and 2 threads, 10 runs, both peers, 224x224x3 and 1000 classes", () => {
    const a = parseZooArgs({ json: false });
    expect(a.models.map((m) => m.id)).toEqual([
      "bireal18",
      "reactnet",
      "quicknet-small",
      "quicknet",
      "quicknet-large",
    ]);
    expect(a).toMatchObject({ threads: [1, 2], runs: 10, peers: ["ort", "tfjs"], profile: false });
    expect(a.inputShape).toEqual([224, 224, 3]);
    expect(a.classes).toBe(1000);
  });

  it("--models, --threads, --runs, --peer, --profile", () => {
    const a = parseZooArgs({
      json: true,
      models: "quicknet, bireal18",
      threads: 4,
      runs: 1,
      peer: "ort",
      profile: true,
    });
    expect(a.models.map((m) => m.id)).toEqual(["quicknet", "bireal18"]);
    expect(a).toMatchObject({ threads: [1, 4], runs: 3, peers: ["ort"], profile: true });
    expect(parseZooArgs({ json: false, threads: 1 }).threads).toEqual([1]);
    expect(parseZooArgs({ json: false, peer: "none" }).peers).toEqual([]);
    expect(parseZooArgs({ json: false, peer: "tfjs,ort" }).peers).toEqual(["tfjs", "ort"]);
  });

  it("rejects an unknown model, peer or thread count, naming the choices", () => {
    expect(() => parseZooArgs({ json: false, models: "resnet50" })).toThrow(
      /unknown model 'resnet50'.*quicknet-large/,
    );
    expect(() => parseZooArgs({ json: false, peer: "torch" })).toThrow(/--peer/);
    expect(() => parseZooArgs({ json: false, threads: 0 })).toThrow(/--threads/);
  });
});

describe("bench zoo models", () => {
  it("QuickNetSmall has Larq Zoo's section filters (32, 64, 256, 512), QuickNetLarge its blocks (6, 8, 12, 6)", () => {
    const small = ZOO.find((m) => m.id === "quicknet-small")!;
    const { shapes, spec } = resolveSpec(zooSpec(small, [224, 224, 3], 1000));
    expect(shapes.get("stem_conv")).toEqual([112, 112, 8]);
    expect(shapes.get("stage1_block4_add")!.at(-1)).toBe(32);
    expect(shapes.get("stage2_block1_conv")!.at(-1)).toBe(64);
    expect(shapes.get("transition2_pointwise")!.at(-1)).toBe(256);
    expect(shapes.get("stage4_block4_add")!.at(-1)).toBe(512);
    expect(spec.layers.find((l) => l.name === "stage3_block1_conv")!.config.inChannels).toBe(256);
    const large = ZOO.find((m) => m.id === "quicknet-large")!;
    const names = resolveSpec(zooSpec(large, [224, 224, 3], 1000)).spec.layers.map((l) => l.name);
    expect(
      [1, 2, 3, 4].map((s) => names.filter((n) => new RegExp(`^stage${s}_block\\d+_conv$`).test(n)).length),
    ).toEqual([6, 8, 12, 6]);
  });

  it("the filters option equals width doubling where they agree", () => {
    const spec = zooSpec(ZOO.find((m) => m.id === "quicknet")!, [224, 224, 3], 10);
    const same = builderSpec({
      builder: "quicknet",
      options: { filters: [64, 128, 256, 512], stages: [4, 4, 4, 4], inputShape: [224, 224, 3], classes: 10 },
    });
    expect(same).toEqual(spec);
  });
});

describe("bench zoo report", () => {
  it("a tiny Bi-Real Net against a narrow ResNet-18: JSON fields, targets, table and profile", async () => {
    const tiny: ZooModel = {
      id: "bireal18",
      label: "tiny Bi-Real",
      builder: "birealnet",
      options: { stages: [1, 1], width: 16 },
      anchors: [{ what: "LCE Pixel 1", value: 41.7, unit: "ms" }],
    };
    const report = await runZoo({
      models: [tiny],
      threads: [1],
      runs: 3,
      peers: ["ort", "tfjs"],
      profile: true,
      inputShape: [32, 32, 3],
      classes: 10,
      peerWidth: 8,
    });
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(json.threads).toEqual([1]);
    expect(json.peer.ort_vs_tfjs_max_relative_difference).toBeLessThan(1e-4);
    const m = json.models[0]!;
    expect(m).toMatchObject({ id: "bireal18", input_shape: [32, 32, 3], classes: 10 });
    expect(m.binary_macs).toBe(32 * 32 * 9 * 16 * 16 + 16 * 16 * 9 * 16 * 32);
    expect(m.file_bytes).toBeGreaterThan(0);
    const run = m.runs[0]!;
    expect(run.threads).toBe(1);
    for (const v of [
      run.ms,
      run.binary_gmacs,
      run.heap_after_load_bytes,
      run.speedup_vs_ort,
      run.speedup_vs_tfjs,
    ])
      expect(v).toBeGreaterThan(0);
    expect(run.heap_bytes).toBeGreaterThan(run.heap_after_load_bytes);
    expect(Object.keys(m.peers.ort_ms!)).toEqual(["1"]);
    expect(m.peers.tfjs_wasm_ms).toBeGreaterThan(0);
    // The 1-thread targets of Bi-Real-18 (the tiny model stands in under its id).
    expect(json.targets.map((t) => t.what)).toEqual([
      "tiny Bi-Real 1 thread ms",
      "tiny Bi-Real x ort, 1 thread",
      "tiny Bi-Real x tfjs-wasm, 1 thread",
    ]);
    const profile = m.profile![0]!;
    expect(profile.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    expect(profile.map((r) => r.group)).toContain("binary_conv2d 3x3/1 32x32x16->16 (affine)");
    expect(profile.map((r) => r.group)).toContain("add");
    const text = formatZoo(report);
    for (const s of [
      "ms/img",
      "GMAC/s",
      "heap MiB",
      "x ort",
      "x tfjs",
      "tiny Bi-Real",
      "LCE Pixel 1 41.7",
      "targets",
    ])
      expect(text).toContain(s);
    expect(text).toContain("profile: tiny Bi-Real, 1 thread(s)");
  }, 60_000);
});
