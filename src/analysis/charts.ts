/**
 * The sensitivity pictures as Vega-Lite specs, rendered to SVG by Vega in Node (no DOM,
 * renderer 'none') and to PNG by resvg with the system fonts (DejaVu Sans when present).
 * - heatmap: weight layers x bit widths, colour and label = accuracy drop (points).
 * - bars: per layer, the drop when only it is binarized and the gain when only it is kept
 *   at full precision (percentage points).
 * vega, vega-lite and @resvg/resvg-js are optional peer dependencies, loaded when a chart is
 * rendered (a MissingDependencyError says which to install).
 */
import type * as resvg from "@resvg/resvg-js";
import type { TopLevelSpec } from "vega-lite";
import { importOptional, requireOptional } from "../util/optional.js";
import type { SensitivityReport, VariantResult } from "./sensitivity.js";

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
  const seeded = r.seeds.length > 1;
  const values = m.results.map((v) => {
    const drop = pp(v.delta);
    const iv = v.deltaInterval;
    const half = iv ? pp((iv[1] - iv[0]) / 2) : null;
    return {
      layer: v.layer,
      bits: `${v.bits}`,
      drop,
      label: `${drop.toFixed(2)}${half === null ? "" : ` ±${half.toFixed(2)}`}${v.beyondNoise ? "*" : ""}`,
      interval: iv ? `[${pp(iv[0]).toFixed(2)}, ${pp(iv[1]).toFixed(2)}]` : "-",
    };
  });
  const bits = r.bits.map(String);
  const limit = Math.max(0.01, maxOf(values.map((v) => Math.abs(v.drop))));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `Accuracy drop when only one layer is quantized (${r.dataset}, reference ${pct(m.reference.accuracy)})`,
      subtitle: [
        "weights and input activations at k bits (1 = sign, k > 1 = DoReFa)",
        ...methodText(r),
        ...(seeded ? ["cells: mean drop ± 95% interval over seeds; * = interval excludes 0"] : []),
      ],
    },
    config: CONFIG,
    data: { values },
    width: (seeded ? 120 : 90) * bits.length,
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
          text: { field: "label", type: "nominal" },
          tooltip: [
            { field: "layer" },
            { field: "bits" },
            { field: "drop", title: "drop (points)" },
            { field: "interval", title: "95% interval" },
          ],
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

/**
 * Bar spec: per layer, drop at 1 bit (binarize-one) and gain at full precision (keep-one);
 * with several seeds, error bars (95% interval of the change) and faded bars within noise.
 */
export function barSpec(r: SensitivityReport): TopLevelSpec | null {
  const values: {
    layer: string;
    measure: string;
    points: number;
    low?: number;
    high?: number;
    noise: string;
  }[] = [];
  const drop = "drop when only this layer is binarized (1 bit)";
  const gain = "gain when only this layer is kept full precision";
  const seeded = r.seeds.length > 1;
  const add = (v: VariantResult, measure: string) =>
    values.push({
      layer: v.layer,
      measure,
      points: pp(v.delta),
      ...(v.deltaInterval ? { low: pp(v.deltaInterval[0]), high: pp(v.deltaInterval[1]) } : {}),
      noise: v.beyondNoise === null ? "one seed" : v.beyondNoise ? "beyond noise" : "within noise",
    });
  for (const v of r.binarizeOne?.results ?? []) if (v.bits === 1) add(v, drop);
  for (const v of r.keepOne?.results ?? []) add(v, gain);
  if (values.length === 0) return null;
  const order = (r.binarizeOne ?? r.keepOne)!.layers.map((l) => l.name);
  const x = {
    field: "layer",
    type: "nominal" as const,
    sort: order,
    title: "layer (input to output)",
    axis: { labelAngle: order.some((n) => n.length > 8) ? -30 : 0 },
  };
  const xOffset = { field: "measure", sort: [drop, gain] };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `Per-layer sensitivity (${r.dataset})`,
      subtitle: [
        referenceText(r),
        ...methodText(r),
        ...(seeded
          ? ["error bars: 95% interval of the change (per-seed pairs); faded: the interval includes 0"]
          : []),
      ],
    },
    config: CONFIG,
    data: { values },
    width: Math.max(110 * order.length, 480),
    height: 260,
    encoding: { x, xOffset },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: { field: "points", type: "quantitative", title: "test accuracy change (percentage points)" },
          color: {
            field: "measure",
            type: "nominal",
            sort: [drop, gain],
            title: null,
            scale: { range: ["#d6604d", "#4393c3"] },
            legend: { orient: "bottom", direction: "vertical" },
          },
          opacity: seeded
            ? { condition: { test: "datum.noise === 'within noise'", value: 0.4 }, value: 1 }
            : { value: 1 },
          tooltip: [
            { field: "layer" },
            { field: "measure" },
            { field: "points" },
            { field: "low", title: "95% low" },
            { field: "high", title: "95% high" },
            { field: "noise" },
          ],
        },
      },
      ...(seeded
        ? [
            {
              mark: { type: "rule" as const, strokeWidth: 1.5 },
              encoding: {
                y: { field: "low", type: "quantitative" as const },
                y2: { field: "high" },
                color: { value: "black" },
              },
            },
          ]
        : []),
    ],
  };
}

function referenceText(r: SensitivityReport): string {
  const parts: string[] = [];
  const pm = (i: [number, number] | null) => (i ? ` ±${pp((i[1] - i[0]) / 2).toFixed(2)}` : "");
  const b = r.binarizeOne;
  if (b) {
    const full = b.layers.every((l) => l.weightBits === 32 && l.inputBits === 32);
    parts.push(
      `${full ? "full-precision" : "binarize-one"} reference ${pct(b.reference.accuracy)}${pm(b.reference.interval)}`,
    );
  }
  if (r.keepOne) {
    const src = r.keepOne.reference.source === "derived" ? ", derived" : "";
    parts.push(
      `binary reference ${pct(r.keepOne.reference.accuracy)}${pm(r.keepOne.reference.interval)}${src}`,
    );
  }
  return parts.join("; ");
}

/** The method (and fine-tune mode's known bias) for a chart's subtitle. */
function methodText(r: SensitivityReport): string[] {
  const p = (r.binarizeOne ?? r.keepOne)!.reference.accuracy;
  // The binomial standard error of an accuracy p on n test images: sqrt(p (1 - p) / n).
  const se = 100 * Math.sqrt((p * (1 - p)) / r.testImages);
  const testText = `${r.testImages} test images (standard error ${se.toFixed(2)} points)`;
  const seeds = r.seeds.length > 1 ? `, ${r.seeds.length} seeds` : ", one seed";
  if (r.method === "retrain") {
    const e = (r.binarizeOne ?? r.keepOne)!.schedule?.epochs;
    return [
      `retrain: every model trained from scratch (${e} epochs on ${r.retrain!.images} images${seeds}); ${testText}`,
    ];
  }
  const f = r.finetune!;
  const tuned =
    f.epochs > 0
      ? `fine-tune mode (fast): each model fine-tuned ${f.epochs} epoch${f.epochs > 1 ? "s" : ""} on ${f.images} images${seeds}`
      : `no training (fine-tune mode with 0 epochs${seeds})`;
  const lines = [`${tuned}; ${testText}`];
  if (r.keepOne && f.epochs > 0)
    lines.push(
      "known bias: a hidden layer kept at full precision can lose accuracy (its latent weights were trained for sign inputs)",
    );
  return lines;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const maxOf = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await importOptional("vega", "render charts", () => import("vega"));
  const { compile } = await importOptional("vega-lite", "render charts", () => import("vega-lite"));
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterizes SVG text to PNG bytes at `scale` x its size, with the system fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const { Resvg } = requireOptional<typeof resvg>("@resvg/resvg-js", "render charts as PNG");
  const image = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return image.render().asPng();
}
