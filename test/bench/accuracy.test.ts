/**
 * The accuracy benchmark's run selection: the side-by-side set puts bnn-cnn beside
 * XNOR-Net, BWN and the float twin with one schedule, and a shortened schedule renames
 * the runs and drops the targets (a 10-epoch run is not the figure).
 */

import { describe, expect, it } from "vitest";
import { selectRuns, shortened } from "../../src/bench/accuracy.js";
import type { ModelConfig } from "../../src/nn/checkpointFormat.js";

describe("bench accuracy run selection", () => {
  it("side: bnn-cnn, xnor-cnn, bwn-cnn and the float twin on both data sets, one schedule", () => {
    const runs = selectRuns("side");
    expect(runs.map((r) => r.id)).toEqual([
      "mnist-bnn-cnn-binary",
      "mnist-xnor-cnn",
      "mnist-bwn-cnn",
      "mnist-bnn-cnn-float",
      "fashion-bnn-cnn-binary",
      "fashion-xnor-cnn",
      "fashion-bwn-cnn",
      "fashion-bnn-cnn-float",
    ]);
    const { model: _m, ...schedule } = runs[0]!.config;
    for (const r of runs.filter((x) => x.dataset === "mnist")) {
      const { model: _, ...s } = r.config;
      expect(s).toEqual(schedule);
    }
  });

  it("shortened: epochs and width overridden, ids say so, no target", () => {
    const [run] = shortened(selectRuns("mnist-bnn-cnn"), 10, 1);
    expect(run!.id).toBe("mnist-bnn-cnn-e10-w1");
    expect(run!.config.epochs).toBe(10);
    expect((run!.config.model as ModelConfig).options).toMatchObject({ widthMultiplier: 1 });
    expect(run!.target).toBeUndefined();
    expect(shortened(selectRuns("headline"))).toEqual(selectRuns("headline"));
    expect(() => shortened(selectRuns("headline"), 0)).toThrow(
      "ONEBIT_ACCURACY_EPOCHS must be a positive integer",
    );
  });

  it("residual: four architectures and their float twins on both data sets, one schedule", () => {
    const runs = selectRuns("residual");
    expect(runs).toHaveLength(16);
    expect(runs.slice(0, 8).map((r) => r.id)).toEqual([
      "res-mnist-bnn-cnn",
      "res-mnist-bnn-cnn-float",
      "res-mnist-birealnet",
      "res-mnist-birealnet-float",
      "res-mnist-reactnet",
      "res-mnist-reactnet-float",
      "res-mnist-quicknet",
      "res-mnist-quicknet-float",
    ]);
    const { model: _m, ...schedule } = runs[0]!.config;
    for (const r of runs) {
      const { model: _, ...s } = r.config;
      expect(s).toEqual(schedule);
    }
    // The residual builders' width is channels, not a multiplier.
    const [bireal] = shortened(selectRuns("res-fashion-birealnet"), 2, 16);
    expect((bireal!.config.model as ModelConfig).options).toEqual({ float: false, width: 16 });
  });
});
