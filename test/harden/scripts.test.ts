/**
 * Short runs of the two robustness scripts on the built CLI (`npm test` builds first): the
 * fuzz runner (a few hundred cases through its worker and watchdog) and kill/resume (three
 * SIGKILLs and one SIGINT on a small MNIST slice). The full runs: `npm run fuzz`,
 * `npm run kill-resume` (README, Robustness).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const built = fs.existsSync(path.join(root, "dist/cli/main.js"));

function script(name: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(root, "scripts", name), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 80_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!built)("robustness scripts (short runs)", () => {
  it("fuzz: 300 mutations, no crash, hang or unbounded allocation", () => {
    const r = script("fuzz.mjs", ["--cases", "300", "--no-sweep", "--seed", "3"]);
    expect(r.out).toMatch(
      /total: 300 cases: ok \d+ {2}typed-error \d+ {2}crash 0 {2}hang 0 {2}unbounded-alloc 0/,
    );
    expect(r.status, r.out).toBe(0);
  });

  it("kill-resume: 3 SIGKILLs and a SIGINT lose at most the epoch in flight; identical end", () => {
    const r = script("kill-resume.mjs", [
      "--kills",
      "3",
      "--epochs",
      "20",
      "--width",
      "64",
      "--limit-train",
      "2000",
      "--limit-test",
      "200",
    ]);
    expect(r.out).toContain("final checkpoint byte-identical to the reference");
    expect(r.out).toContain("kill-resume: passed");
    expect(r.status, r.out).toBe(0);
  });
});
