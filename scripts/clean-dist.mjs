// Empties dist/ before `tsc` writes it, so files from an earlier build (renamed modules,
// the source maps earlier builds emitted) never reach the package.
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

rmSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist"), {
  recursive: true,
  force: true,
});
