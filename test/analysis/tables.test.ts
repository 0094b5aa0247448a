import { describe, expect, it } from "vitest";
import { formatTable, markdownTable } from "../../src/analysis/tables.js";

describe("report tables", () => {
  const t = {
    head: ["layer", "1 bit"],
    rows: [
      ["conv1 (first)", "95.48 (-0.90 ± 2.10)"],
      ["a|b", "1.00"],
    ],
  };

  it("renders Markdown with a separator row and escaped pipes", () => {
    expect(markdownTable(t).split("\n")).toEqual([
      "| layer | 1 bit |",
      "| --- | --- |",
      "| conv1 (first) | 95.48 (-0.90 ± 2.10) |",
      "| a\\|b | 1.00 |",
    ]);
  });

  it("aligns plain text columns: text and headers left, numbers right", () => {
    const lines = formatTable({
      head: ["layer", "acc"],
      rows: [
        ["conv1", "9.50"],
        ["dense2", "10.25"],
      ],
    }).split("\n");
    expect(lines).toEqual(["layer   acc", "------  -----", "conv1    9.50", "dense2  10.25"]);
  });
});
