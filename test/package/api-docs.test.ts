/**
 * The API reference covers every exported symbol: TypeDoc (typedoc.json, what `npm run
 * docs:api` builds) finds a doc comment on each class, interface, type alias, variable,
 * function, namespace, method and accessor that `onebit` and `onebit/engine` export, and
 * reports no warning (its notDocumented and invalidLink validations). Prints the coverage,
 * properties included (those are not required).
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { apiDocsCoverage } from "../../scripts/api-docs-coverage.mjs";

interface Tally {
  total: number;
  documented: number;
  missing: string[];
}

describe("API reference", () => {
  it("documents 100% of the exported symbols, with no TypeDoc warning", async () => {
    const c = (await apiDocsCoverage()) as { symbols: Tally; properties: Tally; warnings: string[] };
    console.log(
      `API reference: ${c.symbols.documented}/${c.symbols.total} exported symbols documented; ` +
        `properties ${c.properties.documented}/${c.properties.total}`,
    );
    expect(c.symbols.total).toBeGreaterThan(400);
    expect(c.symbols.missing).toEqual([]);
    expect(c.warnings).toEqual([]);
  }, 300_000);
});
