import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { writeFileAtomic, writeFileAtomicSync } from "../../src/util/atomicWrite.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "onebit-atomic-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Temporary files left beside the target. */
const temporaries = (target: string): string[] =>
  fs.readdirSync(dir).filter((f) => f.startsWith(`.${path.basename(target)}.`));

const isRoot = process.getuid?.() === 0;

describe.each([
  ["sync", async (f: string, d: string | Uint8Array) => writeFileAtomicSync(f, d)],
  ["async", writeFileAtomic],
] as const)("writeFileAtomic (%s)", (mode, write) => {
  it("creates and replaces files, string or bytes", async () => {
    const f = path.join(dir, `${mode}-a.bin`);
    await write(f, "first");
    expect(fs.readFileSync(f, "utf8")).toBe("first");
    await write(f, Uint8Array.from([1, 2, 3]));
    expect(Array.from(fs.readFileSync(f))).toEqual([1, 2, 3]);
    expect(temporaries(f)).toEqual([]);
  });

  it("keeps the old file and removes the temporary when the rename fails", async () => {
    const f = path.join(dir, `${mode}-b.bin`);
    await write(f, "old contents");
    const before = fs.readdirSync(dir).length;
    const fail = () => {
      throw Object.assign(new Error("EIO: simulated failure"), { code: "EIO" });
    };
    if (mode === "sync") vi.spyOn(fs, "renameSync").mockImplementation(fail);
    else vi.spyOn(fsp, "rename").mockImplementation(async () => fail());
    await expect(write(f, "new contents")).rejects.toThrow(`writing ${f} failed: EIO: simulated failure`);
    expect(fs.readFileSync(f, "utf8")).toBe("old contents");
    expect(temporaries(f)).toEqual([]);
    expect(fs.readdirSync(dir).length).toBe(before);
  });

  it("keeps the old file when the data cannot be synced", async () => {
    const f = path.join(dir, `${mode}-c.bin`);
    await write(f, "old");
    const before = fs.readdirSync(dir).length;
    if (mode === "sync") {
      vi.spyOn(fs, "fsyncSync").mockImplementation(() => {
        throw new Error("ENOSPC: no space left on device");
      });
    } else {
      // FileHandle.sync lives on the handle's prototype; patch it for this test only.
      const h = await fsp.open(path.join(dir, `${mode}-probe`), "w");
      const proto = Object.getPrototypeOf(h);
      await h.close();
      fs.rmSync(path.join(dir, `${mode}-probe`));
      vi.spyOn(proto, "sync").mockRejectedValue(new Error("ENOSPC: no space left on device"));
    }
    await expect(write(f, "new")).rejects.toThrow(`writing ${f} failed: ENOSPC: no space left on device`);
    expect(fs.readFileSync(f, "utf8")).toBe("old");
    expect(fs.readdirSync(dir).length).toBe(before);
  });

  it("names the path when the directory does not exist", async () => {
    const f = path.join(dir, "no-such-dir", "x.bin");
    await expect(write(f, "x")).rejects.toThrow(new RegExp(`^writing ${f} failed: ENOENT`));
  });

  it.skipIf(isRoot)(
    isRoot
      ? "read-only directory (skipped: root ignores directory permissions)"
      : "read-only directory keeps the old file",
    async () => {
      const sub = fs.mkdtempSync(path.join(dir, "ro-"));
      const f = path.join(sub, "x.bin");
      await write(f, "old");
      fs.chmodSync(sub, 0o555);
      try {
        await expect(write(f, "new")).rejects.toThrow(`writing ${f} failed: EACCES`);
        expect(fs.readFileSync(f, "utf8")).toBe("old");
      } finally {
        fs.chmodSync(sub, 0o755);
      }
    },
  );
});
