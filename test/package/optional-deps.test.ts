/**
 * The optional peer dependencies (data sets, charts, ONNX): loaded only by the features
 * that need them, and a MissingDependencyError naming the package and the feature when
 * they are absent. Importing `onebit`, `onebit/engine` or starting the CLI loads none of
 * them: a child process records every module it resolves (ESM resolve hook) or requires.
 * Needs `npm run build` (it imports dist/).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MissingDependencyError, OnebitError } from "../../src/errors.js";
import {
  importOptional,
  isMissingPackage,
  OPTIONAL_PACKAGES,
  requireOptional,
} from "../../src/util/optional.js";

const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

describe("optional peer dependencies", () => {
  it("package.json: optional peers that the checkout still installs as devDependencies", () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual([...OPTIONAL_PACKAGES].sort());
    for (const name of OPTIONAL_PACKAGES) {
      expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(pkg.devDependencies[name]).toBe(pkg.peerDependencies[name]);
      expect(pkg.dependencies[name]).toBeUndefined();
    }
    // What an engine-only app installs besides onebit: the CLI's argument parser and progress bar.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["cli-progress", "commander"]);
  });

  it("requireOptional: a missing package is a MissingDependencyError saying what to install", () => {
    let error: unknown;
    try {
      requireOptional("onebit-no-such-package", "do the thing");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(error).toBeInstanceOf(OnebitError);
    const e = error as MissingDependencyError;
    expect(e.message).toBe(
      "install onebit-no-such-package to do the thing: npm install onebit-no-such-package",
    );
    expect([e.packageName, e.feature, e.name]).toEqual([
      "onebit-no-such-package",
      "do the thing",
      "MissingDependencyError",
    ]);
    expect(requireOptional<{ version: string }>("protobufjs/package.json", "x").version).toMatch(/^\d/);
  });

  it("importOptional: missing -> MissingDependencyError; other load failures pass through", async () => {
    const missing = "onebit-no-such-package";
    await expect(importOptional(missing, "render", () => import(/* @vite-ignore */ missing))).rejects.toThrow(
      new MissingDependencyError(missing, "render"),
    );
    const broken = new TypeError("broken module");
    await expect(importOptional("vega", "render", () => Promise.reject(broken))).rejects.toBe(broken);
    // A package found but missing one of its own imports is not reported as the package missing.
    const inner = Object.assign(new Error("Cannot find package 'd3-array' imported from vega"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    expect(isMissingPackage(inner, "vega")).toBe(false);
    expect(isMissingPackage(inner, "d3-array")).toBe(true);
    const vega = await importOptional("vega", "render", () => import("vega"));
    expect(typeof vega.View).toBe("function");
  });

  it("importing onebit, onebit/engine and running the CLI's help loads none of them", () => {
    for (const built of ["dist/index.js", "dist/engine/index.js", "dist/cli/main.js"]) {
      if (!existsSync(path.join(root, built))) throw new Error(`${built} is missing: run npm run build`);
    }
    // Records every ESM resolution (the hook runs on its own thread and appends to a file)
    // and, at exit, every CommonJS module loaded.
    const log = path.join(mkdtempSync(path.join(os.tmpdir(), "onebit-loads-")), "loaded.txt");
    const resolveHook = `import { appendFileSync } from "node:fs";
      export async function resolve(spec, ctx, next) {
        const r = await next(spec, ctx);
        appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
        return r;
      }`;
    const hook = `import { register, createRequire } from "node:module";
      import { appendFileSync } from "node:fs";
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolveHook)}`)});
      process.on("exit", () => {
        const cjs = Object.keys(createRequire(process.cwd() + "/").cache);
        appendFileSync(${JSON.stringify(log)}, cjs.join("\\n") + "\\n");
      });`;
    const loaded = (args: string[]): string[] => {
      writeFileSync(log, "");
      execFileSync(
        process.execPath,
        ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, ...args],
        {
          cwd: root,
          stdio: "ignore",
        },
      );
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    };
    const optional = (files: string[]) =>
      files.filter((f) => OPTIONAL_PACKAGES.some((p) => f.includes(`/node_modules/${p}/`)));
    const engine = loaded(["--input-type=module", "-e", 'await import("./dist/engine/index.js");']);
    expect(engine.some((f) => f.endsWith("/dist/engine/index.js"))).toBe(true);
    expect(optional(engine)).toEqual([]);
    expect(engine.filter((f) => f.includes("/node_modules/"))).toEqual([]);
    const rootEntry = loaded(["--input-type=module", "-e", 'await import("./dist/index.js");']);
    expect(rootEntry.some((f) => f.endsWith("/dist/interop/onnx-proto.js"))).toBe(true);
    expect(optional(rootEntry)).toEqual([]);
    const cli = loaded(["dist/cli/main.js", "help"]);
    expect(cli.some((f) => f.endsWith("/dist/analysis/charts.js"))).toBe(true);
    expect(optional(cli)).toEqual([]);
  });
});
