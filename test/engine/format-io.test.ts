import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ModelFormatError } from "../../src/engine/format.js";
import { readModelFile, writeModelFile } from "../../src/export/io.js";
import { everyLayerModel } from "./format-fixture.js";

describe("model files on disk", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "onebit-format-"));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes atomically and reads back", async () => {
    const file = path.join(dir, "every.onebit");
    await writeModelFile(file, everyLayerModel());
    expect(await readModelFile(file)).toEqual(everyLayerModel());
    expect(await readdir(dir)).toEqual(["every.onebit"]); // no temporary file left behind
  });

  it("names the file in format errors and in I/O errors", async () => {
    const file = path.join(dir, "bad.onebit");
    await writeFile(file, "not a model at all");
    await expect(readModelFile(file)).rejects.toThrow(ModelFormatError);
    await expect(readModelFile(file)).rejects.toThrow(`${file}: not a .onebit file (wrong magic number)`);
    await expect(readModelFile(path.join(dir, "missing.onebit"))).rejects.toThrow(
      /reading .*missing\.onebit failed: ENOENT/,
    );
  });

  it("refuses to write a bad model and leaves no file", async () => {
    const model = everyLayerModel();
    model.classNames.pop();
    await expect(writeModelFile(path.join(dir, "never.onebit"), model)).rejects.toThrow(ModelFormatError);
    expect(await readdir(dir)).not.toContain("never.onebit");
  });
});
