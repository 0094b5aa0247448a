/**
 * Atomic file replacement: the data goes to a temporary file in the target's directory
 * (same file system, so rename is atomic), is fsync'ed, then renamed over the target.
 * A crash or error at any point leaves either the old file or the new one, never a torn
 * mix; on error the temporary file is removed and the error names the target.
 *
 *     writeFileAtomicSync("model.onebit", bytes);
 *     await writeFileAtomic("ckpt.json", JSON.stringify(state));
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import path from "node:path";

export type FileData = string | Uint8Array;

function tempPath(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
}

function wrap(file: string, e: unknown): Error {
  return new Error(`writing ${file} failed: ${(e as Error).message}`, { cause: e });
}

/** Synchronous atomic write of `data` to `file`. */
export function writeFileAtomicSync(file: string, data: FileData): void {
  const tmp = tempPath(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx", 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw wrap(file, e);
  }
}

/** Asynchronous atomic write of `data` to `file`. */
export async function writeFileAtomic(file: string, data: FileData): Promise<void> {
  const tmp = tempPath(file);
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, "wx", 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (e) {
    if (handle) await handle.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw wrap(file, e);
  }
}
