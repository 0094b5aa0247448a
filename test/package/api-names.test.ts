/**
 * The public names (docs/architecture.md, "Public API naming"): the renamed functions keep
 * their old names as deprecated aliases of the same function, and both entry points export
 * what the README's "Use it in your project" names.
 */
import { describe, expect, it } from "vitest";
import * as engineEntry from "../../src/engine/index.js";
import * as onebit from "../../src/index.js";

const engineNames = engineEntry as Record<string, unknown>;
const rootNames = onebit as Record<string, unknown>;

describe("public names", () => {
  it("old names are aliases of the new ones", () => {
    expect(onebit.exportCheckpoint).toBe(onebit.convertCheckpoint);
    expect(onebit.loadCheckpoint).toBe(onebit.readCheckpoint);
    expect(onebit.saveCheckpoint).toBe(onebit.writeCheckpoint);
  });

  it("the engine entry's names are the root's", () => {
    for (const name of [
      "Engine",
      "EngineWorker",
      "softmax",
      "decodeModel",
      "encodeModel",
      "ModelFormatError",
      "InputRangeError",
      "OnebitError",
      "OptionsError",
      "DisposedError",
    ]) {
      expect(engineNames[name], name).toBeDefined();
      expect(rootNames[name], name).toBe(engineNames[name]);
    }
    for (const name of ["MissingDependencyError", "CheckpointError", "DataError", "TrainingDivergedError"]) {
      expect(rootNames[name], name).toBeDefined();
    }
  });
});
