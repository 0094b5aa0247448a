/**
 * The comparison peers of the benchmarks (tfjs, onnxruntime-node, vite, playwright-core)
 * are onebit's devDependencies: a repository checkout has them, an install of the package
 * does not. `requirePeers` runs before a bench loads and turns a missing peer into one
 * clear error ("install X to run this bench") instead of a module-resolution crash midway.
 *
 *     await requirePeers("gemm", { packages: ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"] });
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OnebitError } from "../errors.js";

/** What a bench needs beyond onebit's own dependencies. */
export interface BenchNeeds {
  /** npm packages it imports (devDependencies of onebit). */
  packages?: readonly string[];
  /** Files of the repository checkout it reads, relative to the package root (e.g. "web/vite.config.ts"). */
  files?: readonly string[];
}

/** A bench whose peer packages (or checkout files) are missing here. */
export class MissingPeerError extends OnebitError {
  override readonly name = "MissingPeerError";

  constructor(
    readonly bench: string,
    /** The missing packages. */
    readonly packages: readonly string[],
    /** The missing checkout files. */
    readonly files: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** The package root (this file is src/bench/ or dist/bench/). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** True when `name` can be imported from here. */
export async function isInstalled(name: string): Promise<boolean> {
  try {
    const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
    if (typeof resolve === "function") resolve(name);
    else await import(/* @vite-ignore */ name);
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && String(e).includes(name)) {
      return false;
    }
    throw e;
  }
}

/** Throws MissingPeerError naming every missing package (and checkout file) of `bench`. */
export async function requirePeers(bench: string, needs: BenchNeeds, root = ROOT): Promise<void> {
  const packages: string[] = [];
  for (const p of needs.packages ?? []) if (!(await isInstalled(p))) packages.push(p);
  const files = (needs.files ?? []).filter((f) => !existsSync(path.join(root, f)));
  if (packages.length === 0 && files.length === 0) return;
  const parts: string[] = [];
  if (packages.length > 0) {
    const list =
      packages.length > 1
        ? `${packages.slice(0, -1).join(", ")} and ${packages[packages.length - 1]}`
        : packages[0];
    const what =
      packages.length > 1
        ? "they are onebit's comparison peers, devDependencies not installed with onebit"
        : "it is onebit's comparison peer, a devDependency not installed with onebit";
    parts.push(`install ${list} to run this bench (npm install --no-save ${packages.join(" ")}): ${what}`);
  }
  if (files.length > 0) {
    parts.push(`it needs ${files.join(", ")} from a checkout of the onebit repository (not in the package)`);
  }
  throw new MissingPeerError(bench, packages, files, `onebit bench ${bench}: ${parts.join("; ")}`);
}
