/**
 * Progress for long work (training epochs, sensitivity sweeps), on stderr only: stdout
 * carries results and JSON.
 *
 * - "bar": a live cli-progress bar (label, step/total, custom fields, ETA); the default
 *   when stderr is a TTY.
 * - "lines": one line per completed stage (label, steps, seconds, final fields); the default
 *   when stderr is not a TTY (logs, CI, pipes).
 * - "quiet": nothing.
 *
 *     const p = new Progress();
 *     p.begin("epoch 1", batches);
 *     for (...) p.update(i + 1, { loss, acc, "samples/s": rate });
 *     p.end({ loss, acc });
 */
import cliProgress from "cli-progress";

export type ProgressMode = "bar" | "lines" | "quiet";
export type ProgressFields = Record<string, number | string>;

export interface ProgressOptions {
  /** Default "auto": "bar" on a TTY, else "lines". `false`-y setups pass "quiet". */
  mode?: ProgressMode | "auto";
  /** Where to write (default process.stderr). stdout is refused. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Formats a field value: integers as they are, other numbers with 4 significant digits. */
export function formatField(v: number | string): string {
  if (typeof v === "string" || Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4)));
}

const formatFields = (fields: ProgressFields): string =>
  Object.entries(fields)
    .map(([k, v]) => `${k} ${formatField(v)}`)
    .join("  ");

export class Progress {
  readonly mode: ProgressMode;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private bar: cliProgress.SingleBar | undefined;
  private label = "";
  private total = 0;
  private step = 0;
  private fields: ProgressFields = {};
  private startedAt = 0;

  constructor({ mode = "auto", stream = process.stderr }: ProgressOptions = {}) {
    if (stream === process.stdout)
      throw new Error("Progress: refusing to write to stdout (it carries results)");
    this.stream = stream;
    this.mode = mode === "auto" ? (stream.isTTY ? "bar" : "lines") : mode;
  }

  /** Starts a stage of `total` steps. An unfinished previous stage is ended first. */
  begin(label: string, total: number, fields: ProgressFields = {}): void {
    if (this.startedAt) this.end();
    this.label = label;
    this.total = total;
    this.step = 0;
    this.fields = { ...fields };
    this.startedAt = performance.now();
    if (this.mode !== "bar") return;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream as NodeJS.WritableStream,
      format: (options, params) => {
        const bar = cliProgress.Format.BarFormat(params.progress, options);
        const eta = cliProgress.Format.TimeFormat(params.eta, options, 5);
        const extra = formatFields(this.fields);
        return `${this.label} ${bar} ${params.value}/${params.total}${extra ? `  ${extra}` : ""}  ETA ${eta}`;
      },
      barsize: 24,
      etaBuffer: 50,
      hideCursor: false,
      gracefulExit: true,
    });
    this.bar.start(total, 0);
  }

  /** Sets the current step (out of `total`) and merges `fields` into the shown fields. */
  update(step: number, fields: ProgressFields = {}): void {
    this.step = step;
    Object.assign(this.fields, fields);
    this.bar?.update(step);
  }

  /** Advances by `delta` steps. */
  increment(delta = 1, fields: ProgressFields = {}): void {
    this.update(this.step + delta, fields);
  }

  /** Ends the stage; in "lines" mode writes `label: step/total in N s  fields`. */
  end(fields: ProgressFields = {}): void {
    if (!this.startedAt) return;
    Object.assign(this.fields, fields);
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.startedAt = 0;
    if (this.bar) {
      this.bar.update(this.step);
      this.bar.stop();
      this.bar = undefined;
    } else if (this.mode === "lines") {
      const extra = formatFields(this.fields);
      this.stream.write(
        `${this.label}: ${this.step}/${this.total} in ${seconds.toFixed(1)} s${extra ? `  ${extra}` : ""}\n`,
      );
    }
  }
}
