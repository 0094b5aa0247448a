/** Types of kernel-exports.mjs for the TypeScript tests (test/kernels/exports.test.ts). */
export interface DeclaredFunction {
  name: string;
  /** The assembly/ file that defines it. */
  file: string;
  /** [name, wasm kind] in order. */
  params: [string, string][];
  result: string;
}
export function compileDeclarations(root: string): string;
export function parseDeclarations(dts: string): DeclaredFunction[];
export function exportsModule(dts: string): string;
