/**
 * The statistics of a sensitivity run over seeds: mean, sample standard deviation and a
 * 95% confidence interval from Student's t distribution (n - 1 degrees of freedom), and
 * the same for paired differences (variant minus reference with the same seed).
 *
 * The t quantile is exact, not a table: the t CDF via the regularized incomplete beta
 * function (continued fraction, Lentz's method), inverted by bisection.
 *
 *     summarize([0.97, 0.975, 0.972]);   // { n: 3, mean, sd, low, high } (95%, t with 2 df)
 *     tQuantile(0.975, 2);               // 4.3027
 */

/** Mean, spread and 95% interval of n values; with one value sd, low and high are null. */
export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (divisor n - 1). */
  sd: number | null;
  /** 95% confidence interval of the mean: mean -/+ t(0.975, n - 1) sd / sqrt(n). */
  low: number | null;
  high: number | null;
}

/** Natural log of the gamma function (Lanczos, g = 7, 9 terms; relative error < 1e-13). */
export function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
    12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), for x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(a, b, x)) / a;
  return 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (df > 0, 0 < p < 1). */
export function tQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`tQuantile: degrees of freedom must be > 0, got ${df}`);
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean, sample standard deviation and the 95% t interval of the mean. */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) throw new RangeError("summarize: no values");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: null, low: null, high: null };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, low: mean - half, high: mean + half };
}

/**
 * The paired difference a_i - b_i (same seed i): its summary, and whether its 95% interval
 * excludes 0 (null with a single pair: no interval).
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
): Summary & { beyondNoise: boolean | null } {
  if (a.length !== b.length) {
    throw new RangeError(`pairedDifference: ${a.length} values against ${b.length}; pairs need equal counts`);
  }
  const s = summarize(a.map((v, i) => v - b[i]!));
  const beyondNoise = s.low === null || s.high === null ? null : s.low > 0 || s.high < 0;
  return { ...s, beyondNoise };
}
