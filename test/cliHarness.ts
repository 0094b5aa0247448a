import { Command } from "commander";
import { vi } from "vitest";

/** Runs `onebit ARGS` in-process with the given commands; returns what it wrote to stdout and stderr. */
export async function runCli(
  commands: readonly ((program: Command) => void)[],
  args: readonly string[],
): Promise<{ out: string; err: string }> {
  const program = new Command().exitOverride();
  for (const register of commands) register(program);
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    await program.parseAsync(["node", "onebit", ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return { out, err };
}
