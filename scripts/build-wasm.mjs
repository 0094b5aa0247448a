// Compiles the AssemblyScript kernels (assembly/index.ts) into two WebAssembly modules:
// a SIMD build and a scalar fallback. Kernels branch on the compile-time constant
// ASC_FEATURE_SIMD. Both import their memory ('env.memory') so that tensors can live in
// one WebAssembly.Memory owned by TypeScript (and, later, shared with worker threads).
// Outputs are written to a temporary name and renamed, so concurrent builds never leave
// a half-written module behind.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "build", "wasm");
mkdirSync(outDir, { recursive: true });
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");

const common = [
  "assembly/index.ts",
  "-O3",
  "--noAssert",
  "--importMemory",
  "--runtime",
  "stub",
  "--initialMemory",
  "1",
];
const variants = [
  { name: "onebit-simd", flags: ["--enable", "simd"] },
  { name: "onebit-scalar", flags: [] },
];

for (const v of variants) {
  const tmp = join(outDir, `${v.name}.${process.pid}.tmp.wasm`);
  execFileSync(process.execPath, [asc, ...common, ...v.flags, "-o", tmp], {
    cwd: root,
    stdio: "inherit",
  });
  renameSync(tmp, join(outDir, `${v.name}.wasm`));
}
console.log(`wasm: built ${variants.map((v) => v.name).join(", ")} in ${outDir}`);
