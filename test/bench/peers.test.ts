/**
 * Benches whose peers are devDependencies say what to install when a peer is missing (as
 * from an install of the package) instead of crashing on a module-resolution error.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { MissingPeerError, requirePeers } from "../../src/bench/peers.js";
import { benches } from "../../src/bench/registry.js";
import { register as registerBench } from "../../src/cli/commands/bench.js";
import { OnebitError } from "../../src/errors.js";
import { runCli } from "../cliHarness.js";

afterEach(() => {
  delete benches["fake-peer"];
  vi.restoreAllMocks();
});

describe("bench peers", () => {
  it("a missing package: 'install X to run this bench', naming the bench", async () => {
    const err = await requirePeers("gemm", { packages: ["commander", "onebit-no-such-peer"] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingPeerError);
    expect(err).toBeInstanceOf(OnebitError);
    expect((err as MissingPeerError).packages).toEqual(["onebit-no-such-peer"]);
    expect((err as Error).message).toBe(
      "onebit bench gemm: install onebit-no-such-peer to run this bench (npm install --no-save onebit-no-such-peer): " +
        "it is onebit's comparison peer, a devDependency not installed with onebit",
    );
  });

  it("several missing packages are listed once, in order", async () => {
    await expect(
      requirePeers("layers", { packages: ["no-such-a", "no-such-b", "no-such-c"] }),
    ).rejects.toThrow(
      "onebit bench layers: install no-such-a, no-such-b and no-such-c to run this bench " +
        "(npm install --no-save no-such-a no-such-b no-such-c): they are onebit's comparison peers, " +
        "devDependencies not installed with onebit",
    );
  });

  it("missing checkout files are named too; present peers pass", async () => {
    await expect(requirePeers("browser", { files: ["web/no-such-file.ts"] })).rejects.toThrow(
      "onebit bench browser: it needs web/no-such-file.ts from a checkout of the onebit repository (not in the package)",
    );
    await expect(
      requirePeers("x", { packages: ["commander"], files: ["package.json"] }),
    ).resolves.toBeUndefined();
  });

  it("every declared peer of the registry is a devDependency, installed in this checkout", async () => {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const peers = Object.values(benches).flatMap((b) => b.needs?.packages ?? []);
    expect(peers.length).toBeGreaterThan(0);
    for (const p of peers) expect(Object.keys(pkg.devDependencies), p).toContain(p);
    for (const [name, b] of Object.entries(benches)) await requirePeers(name, b.needs ?? {});
  });

  it("onebit bench checks the peers before loading the bench", async () => {
    const load = vi.fn();
    benches["fake-peer"] = { about: "test", needs: { packages: ["onebit-no-such-peer"] }, load };
    await expect(runCli([registerBench], ["bench", "fake-peer"])).rejects.toThrow(
      /^onebit bench fake-peer: install onebit-no-such-peer to run this bench/,
    );
    expect(load).not.toHaveBeenCalled();
  });
});
