/**
 * The sensitivity pictures as Vega-Lite specs, rendered to SVG by Vega in Node (no DOM,
 * renderer 'none') and to PNG by resvg with the system fonts (DejaVu Sans when present).
 * - heatmap: weight layers x bit widths, colour and label = accuracy drop (points).
 * - bars: per layer, the drop when only it is binarized and the gain when only it is kept
 *   at full precision (percentage points).
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { SensitivityReport } from "./sensitivity.js";

const FONT = "DejaVu Sans, Arial, sans-serif";
const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
};
const pp = (x: number) => Math.round(x * 10000) / 100;

/** Heatmap spec of binarize-one, or null when that mode did not run. */
export function heatmapSpec(r: SensitivityReport): TopLevelSpec | null {
  const m = r.binarizeOne;
  if (!m || m.results.length === 0) return null;
  const order = m.layers.map((l) => l.name);
  const values = m.results.map((v) => ({ layer: v.layer, bits: `${v.bits}`, drop: pp(v.delta) }));
  const bits = r.bits.map(String);
  const limit = Math.max(0.01, maxOf(values.map((v) => Math.abs(v.drop))));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `Accuracy drop when only one layer is quantized (${r.dataset}, reference ${pct(m.reference.accuracy)})`,
      subtitle: ["weights and input activations at k bits (1 = sign, k > 1 = DoReFa)", ...finetuneText(r)],
    },
    config: CONFIG,
    data: { values },
    width: 90 * bits.length,
    height: 36 * order.length,
    encoding: {
      x: {
        field: "bits",
        type: "ordinal",
        sort: bits,
        title: "bit width k of that layer",
        axis: { labelAngle: 0 },
      },
      y: { field: "layer", type: "ordinal", sort: order, title: "layer (input to output)" },
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "drop",
            type: "quantitative",
            title: "accuracy drop (points)",
            // Diverging around 0: red = accuracy lost, blue = gained (fine-tuning can help).
            scale: { scheme: "redblue", reverse: true, domain: [-limit, limit] },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 12 },
        encoding: {
          text: { field: "drop", type: "quantitative", format: ".2f" },
          color: {
            condition: {
              test: `abs(datum.drop) > ${maxOf(values.map((v) => Math.abs(v.drop))) / 2}`,
              value: "white",
            },
            value: "black",
          },
        },
      },
    ],
  };
}

/** Bar spec: per layer, drop at 1 bit (binarize-one) and gain at full precision (keep-one). */
export function barSpec(r: SensitivityReport): TopLevelSpec | null {
  const values: { layer: string; measure: string; points: number }[] = [];
  const drop = "drop when only this layer is binarized (1 bit)";
  const gain = "gain when only this layer is kept full precision";
  for (const v of r.binarizeOne?.results ?? [])
    if (v.bits === 1) values.push({ layer: v.layer, measure: drop, points: pp(v.delta) });
  for (const v of r.keepOne?.results ?? [])
    values.push({ layer: v.layer, measure: gain, points: pp(v.delta) });
  if (values.length === 0) return null;
  const order = (r.binarizeOne ?? r.keepOne)!.layers.map((l) => l.name);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: `Per-layer sensitivity (${r.dataset})`, subtitle: [referenceText(r), ...finetuneText(r)] },
    config: CONFIG,
    data: { values },
    width: 90 * order.length,
    height: 260,
    mark: "bar",
    encoding: {
      x: {
        field: "layer",
        type: "nominal",
        sort: order,
        title: "layer (input to output)",
        axis: { labelAngle: 0 },
      },
      xOffset: { field: "measure", sort: [drop, gain] },
      y: { field: "points", type: "quantitative", title: "test accuracy change (percentage points)" },
      color: {
        field: "measure",
        type: "nominal",
        sort: [drop, gain],
        title: null,
        scale: { range: ["#d6604d", "#4393c3"] },
        legend: { orient: "bottom", direction: "vertical" },
      },
      tooltip: [{ field: "layer" }, { field: "measure" }, { field: "points" }],
    },
  };
}

function referenceText(r: SensitivityReport): string {
  const parts: string[] = [];
  if (r.binarizeOne) parts.push(`full-precision reference ${pct(r.binarizeOne.reference.accuracy)}`);
  if (r.keepOne) {
    const src = r.keepOne.reference.source === "derived" ? ", derived" : "";
    parts.push(`binary reference ${pct(r.keepOne.reference.accuracy)}${src}`);
  }
  return parts.join("; ");
}

function finetuneText(r: SensitivityReport): string[] {
  const f = r.finetune;
  const tuned =
    f.epochs > 0
      ? `each variant fine-tuned ${f.epochs} epoch${f.epochs > 1 ? "s" : ""} on ${f.images} images`
      : "no fine-tuning";
  // The binomial standard error of an accuracy p on n test images: sqrt(p (1 - p) / n).
  const p = (r.binarizeOne ?? r.keepOne)!.reference.accuracy;
  const se = 100 * Math.sqrt((p * (1 - p)) / r.testImages);
  return [tuned, `${r.testImages} test images: standard error ${se.toFixed(2)} points`];
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const maxOf = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterizes SVG text to PNG bytes at `scale` x its size, with the system fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}
