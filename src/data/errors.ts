import { OnebitError } from "../errors.js";

/**
 * The one error type of the data layer: a file (or data set) that cannot be read as claimed.
 * `file` names the offending file or folder, and the message starts with it, so a user sees
 * at once which download is broken.
 */
export class DataError extends OnebitError {
  override readonly name = "DataError";

  constructor(
    /** The file, folder or data set the error is about. */
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
