#!/usr/bin/env node
/**
 * `node scripts/api-docs-coverage.mjs [--json]`: how much of the public API (the exports of
 * `onebit` and `onebit/engine`, as TypeDoc sees them with typedoc.json) has a doc comment.
 * Counts the symbols TypeDoc's `notDocumented` validation requires (typedoc.json's
 * `requiredToBeDocumented`: classes, interfaces, type aliases, variables, functions,
 * namespaces, methods, accessors) and, as a separate figure, properties. Prints the
 * undocumented ones; exits 1 when a required symbol lacks one or TypeDoc warns.
 * `npm run docs:api` writes the HTML reference with the same configuration.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Application, LogLevel, ReflectionKind } from "typedoc";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Runs TypeDoc on the entry points; returns the coverage and TypeDoc's warnings. */
export async function apiDocsCoverage() {
  const config = JSON.parse(readFileSync(path.join(root, "typedoc.json"), "utf8"));
  const app = await Application.bootstrapWithPlugins({
    options: path.join(root, "typedoc.json"),
    tsconfig: path.join(root, "tsconfig.build.json"),
    entryPoints: config.entryPoints.map((e) => path.join(root, e)),
    logLevel: "Warn",
  });
  const warnings = [];
  const log = app.logger.log.bind(app.logger);
  app.logger.log = (message, level) => {
    if (level >= LogLevel.Warn) warnings.push(String(message));
    log(message, level);
  };
  const project = await app.convert();
  if (!project) throw new Error("TypeDoc could not convert the project");
  app.validate(project);
  const required = config.requiredToBeDocumented.reduce((mask, k) => mask | ReflectionKind[k], 0);
  const documented = (r) =>
    r.hasComment() ||
    (r.signatures ?? []).some((s) => s.hasComment()) ||
    Boolean(r.getSignature?.hasComment()) ||
    Boolean(r.setSignature?.hasComment());
  const tally = (kinds) => {
    const all = project.getReflectionsByKind(kinds).filter((r) => !r.flags.isExternal);
    const missing = all
      .filter((r) => !documented(r))
      .map((r) => `${r.getFullName()} (${ReflectionKind[r.kind]})`);
    return { total: all.length, documented: all.length - missing.length, missing };
  };
  return { symbols: tally(required), properties: tally(ReflectionKind.Property), warnings };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const c = await apiDocsCoverage();
  const pct = (t) => (t.total ? ((100 * t.documented) / t.total).toFixed(1) : "100.0");
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(c, null, 2));
  } else {
    console.log(
      `exported symbols documented: ${c.symbols.documented}/${c.symbols.total} (${pct(c.symbols)}%)`,
    );
    console.log(
      `properties documented: ${c.properties.documented}/${c.properties.total} (${pct(c.properties)}%)`,
    );
    for (const m of c.symbols.missing) console.log(`  undocumented: ${m}`);
  }
  process.exitCode = c.symbols.missing.length > 0 || c.warnings.length > 0 ? 1 : 0;
}
