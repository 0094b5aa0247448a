/**
 * Number parsers for command-line options. Each refuses what is not exactly the kind of
 * number asked for (commander then prints "option '--epochs <n>' argument '1.5' is
 * invalid" and exits 1), where Number.parseInt read "1.5" as 1 and "abc" as NaN.
 *
 *     .option("--epochs <n>", "total epochs", positiveInt, 3)
 */
import { InvalidArgumentError } from "commander";

const WHOLE = /^[+-]?\d+$/;

function whole(v: string, what: string, ok: (n: number) => boolean): number {
  const s = v.trim();
  const n = Number(s);
  if (!WHOLE.test(s) || !Number.isSafeInteger(n) || !ok(n))
    throw new InvalidArgumentError(`expected ${what}.`);
  return n;
}

/** A whole number (e.g. -1, 0, 3). */
export const int = (v: string): number => whole(v, "a whole number", () => true);

/** A whole number >= 1. */
export const positiveInt = (v: string): number => whole(v, "a positive whole number", (n) => n >= 1);

/** A whole number >= 0. */
export const nonNegativeInt = (v: string): number => whole(v, "a whole number >= 0", (n) => n >= 0);

/** A finite number in any notation Number() reads (1e-3, 0.5, 2). */
export const finite = (v: string): number => {
  const s = v.trim();
  const n = Number(s);
  if (s === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a finite number.");
  return n;
};
