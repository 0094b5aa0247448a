/**
 * A small validator for the untrusted JSON header: each parser checks one value and returns
 * it typed, or throws SchemaError naming the path (`layers[2].strides[0]`) and what was
 * expected. Objects reject unknown keys unless the file is from a newer minor version
 * (whose additions this reader may ignore).
 */
export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

export interface SchemaContext {
  /** Ignore keys this reader does not know (files from a newer minor version). */
  allowUnknownKeys: boolean;
}

export type Parser<T> = (value: unknown, path: string, ctx: SchemaContext) => T;
type Optional<T> = Parser<T> & { optional: true };
type Out<P> = P extends Parser<infer T> ? T : never;
type ObjectOut<S> = { [K in keyof S as S[K] extends Optional<unknown> ? never : K]: Out<S[K]> } & {
  [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: Out<S[K]>;
};

/** A short, safe rendering of an untrusted value for error messages. */
export function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const s = typeof value === "string" ? JSON.stringify(value) : String(value);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

export function str(maxLength: number, minLength = 0): Parser<string> {
  return (v, path) => {
    if (typeof v !== "string") throw new SchemaError(path, `expected a string, got ${show(v)}`);
    if (v.length < minLength || v.length > maxLength) {
      throw new SchemaError(
        path,
        `expected a string of ${minLength}..${maxLength} characters, got ${v.length}`,
      );
    }
    return v;
  };
}

export function int(min: number, max: number): Parser<number> {
  return (v, path) => {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new SchemaError(path, `expected an integer, got ${show(v)}`);
    }
    if (v < min || v > max) throw new SchemaError(path, `expected an integer in [${min}, ${max}], got ${v}`);
    return v;
  };
}

export function finite(): Parser<number> {
  return (v, path) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new SchemaError(path, `expected a finite number, got ${show(v)}`);
    }
    return v;
  };
}

export function literal<T extends string | number>(...values: T[]): Parser<T> {
  return (v, path) => {
    if (!values.includes(v as T)) {
      throw new SchemaError(
        path,
        `expected one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${show(v)}`,
      );
    }
    return v as T;
  };
}

export function array<T>(item: Parser<T>, minLength: number, maxLength: number): Parser<T[]> {
  return (v, path, ctx) => {
    if (!Array.isArray(v)) throw new SchemaError(path, `expected an array, got ${show(v)}`);
    if (v.length < minLength || v.length > maxLength) {
      throw new SchemaError(path, `expected ${minLength}..${maxLength} items, got ${v.length}`);
    }
    return v.map((x, i) => item(x, `${path}[${i}]`, ctx));
  };
}

export function pair<T>(item: Parser<T>): Parser<[T, T]> {
  const p = array(item, 2, 2);
  return (v, path, ctx) => p(v, path, ctx) as [T, T];
}

export function optional<T>(p: Parser<T>): Optional<T> {
  return Object.assign((v: unknown, path: string, ctx: SchemaContext) => p(v, path, ctx), {
    optional: true as const,
  });
}

function isOptional(p: Parser<unknown>): boolean {
  return (p as Partial<Optional<unknown>>).optional === true;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object with exactly these fields (absent optional fields stay absent). */
export function object<S extends Record<string, Parser<unknown>>>(fields: S): Parser<ObjectOut<S>> {
  return (v, path, ctx) => {
    if (!isPlainObject(v)) throw new SchemaError(path, `expected an object, got ${show(v)}`);
    const out: Record<string, unknown> = {};
    for (const [key, parse] of Object.entries(fields)) {
      if (!Object.hasOwn(v, key)) {
        if (isOptional(parse)) continue;
        throw new SchemaError(path, `missing field '${key}'`);
      }
      out[key] = parse(v[key], `${path}.${key}`, ctx);
    }
    if (!ctx.allowUnknownKeys) {
      for (const key of Object.keys(v)) {
        if (!Object.hasOwn(fields, key)) throw new SchemaError(path, `unknown field ${show(key)}`);
      }
    }
    return out as ObjectOut<S>;
  };
}

/** Any JSON value nested at most maxDepth levels (checked before recursing deeper). */
export function jsonValue(maxDepth: number): Parser<unknown> {
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth > maxDepth) throw new SchemaError(path, `nested deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`, depth + 1);
    } else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, depth + 1);
  };
  return (v, path) => {
    walk(v, path, 0);
    return v;
  };
}

/**
 * The deepest nesting of arrays and objects in JSON text (brackets inside strings do not
 * count), scanning no further once `limit` is passed. JSON.parse takes time and memory
 * superlinear in the nesting (a 4 MB run of '[' takes seconds), so the reader measures
 * first.
 */
export function jsonNesting(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
