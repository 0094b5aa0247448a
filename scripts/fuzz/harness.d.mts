/** Types of harness.mjs for the TypeScript tests (test/harden/fuzz.test.ts). */
import type { Arbitrary } from "fast-check";

export type Outcome = "ok" | "typed-error" | "crash" | "hang" | "unbounded-alloc";
export const OUTCOMES: readonly Outcome[];
export const LIMITS: { caseMs: number; allocFactor: number; allocSlack: number };

export interface Seed {
  name: string;
  format: "onebit" | "checkpoint" | "idx" | "cifar" | "onnx";
  gzip: boolean;
  bytes: Uint8Array;
  raw: Uint8Array | undefined;
}
export type Plan = { op: string } & Record<string, unknown>;
export interface CaseResult {
  outcome: Outcome;
  ms: number;
  alloc: number;
  detail: string;
}
/**
 * The loaders under test: decodeModel, ModelFormatError, Engine, decodeCheckpoint,
 * CheckpointError, checkCheckpointModel, buildModel, loadIntoModel, Random, ctx (a "ref" context), readIdx,
 * parseCifar10, DataError (see harness.mjs).
 */
export type Lib = Record<string, unknown>;
export type Targets = Record<Seed["format"], unknown>;

export function loadSeeds(dir: string): Seed[];
export const ONNX_SEEDS: readonly string[];
export function loadOnnxSeeds(dir: string): Seed[];
export function makeTargets(lib: Lib, tmpDir: string): Targets;
export function runCase(
  targets: Targets,
  seed: Seed,
  bytes: Uint8Array,
  limits?: typeof LIMITS,
): Promise<CaseResult>;
export class Tally {
  counts: Record<Outcome, number>;
  slowest: { ms: number; where: string };
  examples: { where: string; outcome: Outcome; detail: string }[];
  add(r: CaseResult, where: string): void;
  merge(other: Tally): void;
  get total(): number;
  get failures(): number;
}
export function truncations(seed: Seed, stride?: number): Generator<{ at: number; bytes: Uint8Array }>;
export function mutationArb(seed: Seed): Arbitrary<Plan>;
export function applyMutation(seed: Seed, plan: Plan): Uint8Array;
export function caseAt(
  seeds: Seed[],
  i: number,
  base: number,
  cache?: Map<number, unknown>,
): { seed: Seed; plan: Plan; bytes: Uint8Array };
