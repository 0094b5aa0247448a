// Compiles the AssemblyScript kernels (assembly/index.ts) into six WebAssembly modules:
// a relaxed-SIMD build (fused multiply-add in the float dot products), a SIMD build and a
// scalar fallback, each with a private memory and with a shared one. Kernels branch on
// the compile-time constants ASC_FEATURE_SIMD and ASC_FEATURE_RELAXED_SIMD. Every build imports its
// memory ('env.memory') so that tensors live in one WebAssembly.Memory owned by
// TypeScript. The -shared builds declare that memory shared (threads feature, maximum
// 65536 pages = 4 GiB) so that worker threads can each instantiate the module on it
// (src/kernels/threads); the private builds are the single-thread fallback for runtimes
// without SharedArrayBuffer (a browser page that is not cross-origin isolated).
// The modules have no globals and no start function; their only static data are the
// math tables of exp/log (active data segments, rewritten with the same bytes by each
// instance: harmless on a shared memory).
// Outputs are written to a temporary name and renamed, so concurrent builds never leave
// a half-written module behind. Last, the typed signatures of the exports are rewritten
// from the compiler's declarations (src/kernels/wasm/exports.ts, kernel-exports.mjs).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileDeclarations, exportsModule } from "./kernel-exports.mjs";

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
const shared = ["--sharedMemory", "--maximumMemory", "65536", "--enable", "threads"];
const relaxed = ["--enable", "simd", "--enable", "relaxed-simd"];
const variants = [
  { name: "onebit-relaxed", flags: relaxed },
  { name: "onebit-relaxed-shared", flags: [...relaxed, ...shared] },
  { name: "onebit-simd", flags: ["--enable", "simd"] },
  { name: "onebit-scalar", flags: [] },
  { name: "onebit-simd-shared", flags: ["--enable", "simd", ...shared] },
  { name: "onebit-scalar-shared", flags: shared },
];

for (const v of variants) {
  const tmp = join(outDir, `${v.name}.${process.pid}.tmp.wasm`);
  execFileSync(process.execPath, [asc, ...common, ...v.flags, "-o", tmp], {
    cwd: root,
    stdio: "inherit",
  });
  renameSync(tmp, join(outDir, `${v.name}.wasm`));
}
// The popcount probe of `onebit bench bgemm` (assembly/probe): its own memory, SIMD only.
const probe = join(outDir, `onebit-probe.${process.pid}.tmp.wasm`);
execFileSync(
  process.execPath,
  [
    asc,
    "assembly/probe/popcount.ts",
    "-O3",
    "--noAssert",
    "--runtime",
    "stub",
    "--enable",
    "simd",
    "-o",
    probe,
  ],
  { cwd: root, stdio: "inherit" },
);
renameSync(probe, join(outDir, "onebit-probe.wasm"));
// Written only when it changes, so that a build leaves the TypeScript sources untouched.
const signatures = join(root, "src", "kernels", "wasm", "exports.ts");
const text = exportsModule(compileDeclarations(root));
if (!existsSync(signatures) || readFileSync(signatures, "utf8") !== text) {
  writeFileSync(`${signatures}.${process.pid}.tmp`, text);
  renameSync(`${signatures}.${process.pid}.tmp`, signatures);
  console.log(`wasm: rewrote ${signatures}`);
}
console.log(`wasm: built ${variants.map((v) => v.name).join(", ")}, onebit-probe in ${outDir}`);
