/**
 * `.onebit` files on disk (Node only; the engine itself works on bytes). Writing is atomic
 * (temporary file, then rename), so a crash never leaves a torn model behind.
 *
 *     await writeModelFile("mnist.onebit", model);
 *     const again = await readModelFile("mnist.onebit"); // ModelFormatError names the path if bad
 */
import { readFile } from "node:fs/promises";
import { decodeModel, encodeModel } from "../engine/format.js";
import type { EngineModel } from "../engine/model.js";
import { writeFileAtomic } from "../util/atomicWrite.js";

/** Reads and validates a `.onebit` file; errors name `file`. */
export async function readModelFile(file: string): Promise<EngineModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`reading ${file} failed: ${(e as Error).message}`, { cause: e });
  }
  return decodeModel(bytes, file);
}

/** Encodes (and so validates) `model` and writes it atomically to `file`. */
export async function writeModelFile(file: string, model: EngineModel): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}
