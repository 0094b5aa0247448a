/**
 * The published package: a LICENSE, the fields that let every resolver find the code and
 * its types (main, types, exports with types, typesVersions for `onebit/engine` under
 * moduleResolution "node"), a truthful sideEffects list, and no source maps pointing at
 * sources the package does not ship.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
/** dist/X.js <- src/X.ts */
const source = (dist: string) =>
  path.join(root, dist.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$|\.js$/, ".ts"));

describe("package.json", () => {
  it("has an MIT LICENSE file matching its license field", () => {
    expect(pkg.license).toBe("MIT");
    const license = readFileSync(path.join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} onebit contributors\n/);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS"');
  });

  it("main, types and exports (with types first) name built files of real sources", () => {
    expect(pkg.main).toBe("./dist/index.js");
    expect(pkg.types).toBe("./dist/index.d.ts");
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    expect(pkg.exports["./engine"]).toEqual({
      types: "./dist/engine/index.d.ts",
      default: "./dist/engine/index.js",
    });
    for (const entry of Object.values(pkg.exports) as Record<string, string>[]) {
      expect(Object.keys(entry)[0]).toBe("types");
    }
    expect(pkg.typesVersions["*"].engine).toEqual(["./dist/engine/index.d.ts"]);
    for (const f of [pkg.main, pkg.types, pkg.exports["./engine"].default])
      expect(existsSync(source(f)), f).toBe(true);
  });

  it("sideEffects lists exactly the modules that act when imported", () => {
    expect(pkg.sideEffects).toEqual(["./dist/kernels/threads/worker.js", "./dist/cli/main.js"]);
    for (const f of pkg.sideEffects) expect(existsSync(source(f)), f).toBe(true);
  });

  it("names no placeholder repository (none is known yet, so the field is absent)", () => {
    if (pkg.repository !== undefined) {
      expect(JSON.stringify(pkg.repository)).not.toMatch(
        /example|your-?(org|name|user)|todo|placeholder|<|>/i,
      );
    }
  });

  it("ships no source maps: the build emits none and the files list excludes them", () => {
    const build = JSON.parse(readFileSync(path.join(root, "tsconfig.build.json"), "utf8"));
    expect(build.compilerOptions.sourceMap).toBe(false);
    expect(build.compilerOptions.declarationMap ?? false).toBe(false);
    expect(pkg.files).toContain("!dist/**/*.map");
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    expect(files).toContain("LICENSE");
    expect(files).toContain("package.json");
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("src/"))).toEqual([]);
  });
});
