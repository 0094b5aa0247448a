/**
 * Hand-written option checks for the public entry points (train(), the model builders,
 * the engine): each refuses a bad value with an OptionsError whose message names the entry
 * point, the option and the value, and `rejectUnknownKeys` refuses a misspelt option instead
 * of ignoring it. An `undefined` value is an absent option: the checks pass it through, so
 * defaults stay the caller's business.
 *
 *     rejectUnknownKeys("train", config, ["model", "epochs", ...]);
 *     positiveInteger("train", "epochs", config.epochs, { required: true });
 *
 * Imports only ../errors.js, so the engine can use it.
 */
import { OptionsError } from "../errors.js";

interface Presence {
  /** Refuse `undefined` too. */
  required?: boolean;
}

/** Refuses keys not in `known`; `hints` maps a misplaced key to advice, else the closest known name is suggested. */
export function rejectUnknownKeys(
  where: string,
  options: object,
  known: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = Object.hasOwn(hints, key) ? hints[key] : closest(key, known);
    throw new OptionsError(
      where,
      key,
      `unknown option '${key}'${hint ? ` (${hint})` : ""}; the options are ${known.join(", ")}`,
    );
  }
}

/** The value as a plain object (not null, not an array), else an OptionsError naming `option`. */
export function plainObject(where: string, option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OptionsError(where, option, `${option} must be an object, got ${showValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function absent(where: string, option: string, value: unknown, p: Presence): boolean {
  if (value !== undefined) return false;
  if (p.required) throw new OptionsError(where, option, `${option} is required`);
  return true;
}

/** A safe integer >= 1. */
export function positiveInteger(where: string, option: string, value: unknown, p: Presence = {}): void {
  if (absent(where, option, value, p)) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new OptionsError(where, option, `${option} must be a positive integer, got ${showValue(value)}`);
  }
}

/** A safe integer in [min, max]. */
export function integerIn(
  where: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
  p: Presence = {},
): void {
  if (absent(where, option, value, p)) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new OptionsError(where, option, `${option} must be an integer ${range}, got ${showValue(value)}`);
  }
}

/** A finite number > 0. */
export function positiveNumber(where: string, option: string, value: unknown, p: Presence = {}): void {
  if (absent(where, option, value, p)) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new OptionsError(where, option, `${option} must be a finite number > 0, got ${showValue(value)}`);
  }
}

/** A finite number in the interval `[lo, hi]`, `(lo, hi)`, ... as `open` says. */
export function numberIn(
  where: string,
  option: string,
  value: unknown,
  lo: number,
  hi: number,
  open: { lo?: boolean; hi?: boolean } = {},
  p: Presence = {},
): void {
  if (absent(where, option, value, p)) return;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (open.lo ? value > lo : value >= lo) &&
    (open.hi ? value < hi : value <= hi);
  if (!ok) {
    const range = `${open.lo ? "(" : "["}${lo}, ${hi}${open.hi ? ")" : "]"}`;
    throw new OptionsError(where, option, `${option} must be a number in ${range}, got ${showValue(value)}`);
  }
}

/** One of the listed values. */
export function oneOf(
  where: string,
  option: string,
  value: unknown,
  choices: readonly unknown[],
  p: Presence = {},
): void {
  if (absent(where, option, value, p)) return;
  if (!choices.includes(value)) {
    throw new OptionsError(
      where,
      option,
      `${option} must be one of ${choices.map((c) => showValue(c)).join(", ")}, got ${showValue(value)}`,
    );
  }
}

/** true or false. */
export function booleanOption(where: string, option: string, value: unknown, p: Presence = {}): void {
  oneOf(where, option, value, [true, false], p);
}

/** A short rendering of a caller's value for messages (strings quoted, objects as JSON, long ones cut). */
export function showValue(value: unknown): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value);
  else if (typeof value === "number" || typeof value === "boolean" || value == null) s = String(value);
  else if (typeof value === "bigint") s = `${value}n`;
  else if (typeof value === "function") s = "a function";
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** "did you mean 'width'?" for a name at most two edits from a known one. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best === undefined ? undefined : `did you mean '${best}'?`;
}

/** Levenshtein distance, a swap of neighbours counting as one edit (a typo such as 'widht'). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 3;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
