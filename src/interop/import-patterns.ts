/**
 * Recognizes binarization in the forms exporters produce and rewrites each into one node
 * of the importer's own, Binarize(x) with attribute `zero`: +1 for x > 0, -1 for x < 0,
 * and `zero` (+1, -1 or 0) for x = 0. Forms:
 * - Sign(x) (ONNX: sign(0) = 0), and Larq's sign(sign(x) + c), 0 < |c| < 1;
 * - Where(Cmp(x, 0), a, b) with Cmp in GreaterOrEqual, Greater, Less, LessOrEqual (either
 *   operand order) and {a, b} = {1, -1}: `zero` is what the formula gives at x = 0; a and b
 *   may be `torch.ones_like(x)` and its negation (Shape -> ConstantOfShape [-> Neg]);
 * - the straight-through residue p + (A - p) (either operand order) with A a binarization
 *   or a constant, whatever p is: `x + (sign(x) - x).detach()`, Bi-Real's
 *   `sign(x).detach() - p(x).detach() + p(x)` with its polynomial p, and the clamp STE of
 *   weights `alpha * sign(w) - clamp(w) + clamp(w)`. Its forward value is A up to float
 *   rounding, so it is A here (the subgraph computing p is dropped);
 * - Cast(Cmp(x, 0)) * 2 - 1 with Cmp in GreaterOrEqual, Greater (x first) or LessOrEqual,
 *   Less (0 first): onebit's own `(x >= 0).to(x.dtype) * 2 - 1` (bench/peers), `zero` from
 *   the comparison at x = 0;
 * - a Clip(x, lo, hi) with lo < 0 < hi feeding a Binarize (hardtanh before sign) is
 *   skipped: it keeps the sign of every x, zero included.
 * The passes run on weights and activations alike; constant folding comes after, so
 * sign(W) of latent weights becomes exactly +/-1.
 */
import { broadcastShape, elementwise, evalConst } from "./import-const.js";
import { type ImportGraph, type Node, removeDead } from "./import-graph.js";
import type { Const } from "./onnx-tensor.js";

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  GreaterOrEqual: (a, b) => a >= b,
  Greater: (a, b) => a > b,
  LessOrEqual: (a, b) => a <= b,
  Less: (a, b) => a < b,
};

/** The value of a name if it is constant: an initializer, or a node computing on constants only. */
function constLookup(graph: ImportGraph, producers: Map<string, Node>): (name: string) => Const | undefined {
  const memo = new Map<string, Const | null>();
  const look = (name: string): Const | undefined => {
    if (graph.constants.has(name)) return graph.constants.get(name);
    if (memo.has(name)) return memo.get(name) ?? undefined;
    memo.set(name, null);
    const node = producers.get(name);
    let value: Const | undefined;
    if (node?.op === "Shape" && !look(node.inputs[0]!)) {
      // The shape of an activation: only its being a shape matters here (ones_like -> a scalar).
      value = { kind: "int", shape: [1], data: Float64Array.of(Number.NaN) };
    } else if (node && node.outputs.length === 1) {
      const inputs = node.inputs.map((i) => (i === "" ? undefined : look(i)));
      if (node.inputs.every((i, k) => i === "" || inputs[k])) value = evalConst(node, inputs, graph);
    }
    memo.set(name, value ?? null);
    return value;
  };
  return look;
}

/** The single value of a constant all of whose elements are equal (a scalar in effect). */
function scalarOf(c: Const | undefined): number | undefined {
  if (!c || c.data.length === 0) return undefined;
  const v = c.data[0]!;
  return c.data.every((x) => x === v) && c.data.length === 1 ? v : undefined;
}

/**
 * Where(Cmp(x, T), a, b) with T constant (0, or per channel as onebit's own export writes
 * thresholds) and a = -b = +/-1 (per channel allowed): Binarize(x - T) times the sign s of
 * the "x above T" branch, as [Sub(x, T)] -> Binarize -> [Mul(s)] (Sub and Mul only when
 * needed). Comparing x - T with 0 is comparing x with T: float subtraction keeps the sign.
 */
function whereForm(
  node: Node,
  prod: Map<string, Node>,
  constOf: (name: string) => Const | undefined,
): { nodes: Node[]; constants: Map<string, Const> } | undefined {
  const cond = prod.get(node.inputs[0]!);
  const cmp = cond ? COMPARE[cond.op] : undefined;
  const a = constOf(node.inputs[1]!);
  const b = constOf(node.inputs[2]!);
  if (!cond || !cmp || !a || !b) return undefined;
  const [l, r] = cond.inputs as [string, string];
  const lc = constOf(l);
  const rc = constOf(r);
  if (!lc === !rc) return undefined;
  const x = rc ? l : r;
  const t = (rc ?? lc)!;
  // Per element of the broadcast (a, b, t): the value at x - t = -1, 0, +1.
  const at = (d: number) =>
    elementwise([a, b, t], "float", (av, bv) => ((rc ? cmp(d, 0) : cmp(0, d)) ? av : bv), node.label).data;
  const [below, tie, above] = [at(-1), at(0), at(1)];
  const zero = tie[0]! * above[0]!;
  for (let i = 0; i < above.length; i++) {
    if (Math.abs(above[i]!) !== 1 || below[i] !== -above[i]! || tie[i]! * above[i]! !== zero)
      return undefined;
  }
  const out = node.outputs[0]!;
  const constants = new Map<string, Const>();
  const nodes: Node[] = [];
  let input = x;
  if (t.data.some((v) => v !== 0)) {
    constants.set(`${out}/onebit_threshold`, t);
    nodes.push(node.derive("Sub", [x, `${out}/onebit_threshold`], {}, `${out}/onebit_shifted`));
    input = `${out}/onebit_shifted`;
  }
  const flips = above.some((v) => v !== 1);
  nodes.push(node.derive("Binarize", [input], { zero }, flips ? `${out}/onebit_sign` : out));
  if (flips) {
    const shape = broadcastShape([a.shape, b.shape, t.shape], node.label);
    constants.set(`${out}/onebit_flip`, { kind: "float", shape, data: above });
    nodes.push(node.derive("Mul", [`${out}/onebit_sign`, `${out}/onebit_flip`], {}, out));
  }
  return { nodes, constants };
}

/** Cast(Cmp(x, 0)) * 2 - 1 as Binarize(x), or undefined when `node` (the Sub) is not that form. */
function maskForm(
  node: Node,
  prod: Map<string, Node>,
  constOf: (name: string) => Const | undefined,
): Node | undefined {
  if (node.op !== "Sub" || scalarOf(constOf(node.inputs[1]!)) !== 1) return undefined;
  const mul = prod.get(node.inputs[0]!);
  if (mul?.op !== "Mul") return undefined;
  const [m0, m1] = mul.inputs as [string, string];
  const cast =
    scalarOf(constOf(m1)) === 2 ? prod.get(m0) : scalarOf(constOf(m0)) === 2 ? prod.get(m1) : undefined;
  if (cast?.op !== "Cast" || ![1, 10, 11].includes(cast.int("to", 0))) return undefined;
  const cond = prod.get(cast.inputs[0]!);
  const cmp = cond ? COMPARE[cond.op] : undefined;
  if (!cond || !cmp) return undefined;
  const [l, r] = cond.inputs as [string, string];
  const up = cond.op.startsWith("Greater");
  const x = up ? l : r;
  if (scalarOf(constOf(up ? r : l)) !== 0 || constOf(x)) return undefined;
  return node.derive("Binarize", [x], { zero: cmp(0, 0) ? 1 : -1 });
}

/** Rewrites binarization forms into Binarize nodes (see the module doc). Returns how many remain. */
export function recognizeBinarizers(graph: ImportGraph): number {
  const producers = () => new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const prod = producers();
  const constOf = constLookup(graph, prod);
  const replace = (old: Node, next: Node) => {
    graph.nodes[graph.nodes.indexOf(old)] = next;
    prod.set(next.outputs[0]!, next);
  };

  for (const node of [...graph.nodes]) {
    if (node.op === "Sign") {
      const inner = prod.get(node.inputs[0]!);
      const add = inner?.op === "Add" ? inner : undefined;
      // Larq: sign(sign(x) + c) is sign(x) with sign(0) = sign(c).
      if (add) {
        const [p, q] = add.inputs;
        for (const [b, c] of [
          [p, q],
          [q, p],
        ] as const) {
          const bin = prod.get(b!);
          const cv = scalarOf(constOf(c!));
          if (bin?.op === "Binarize" && cv !== undefined && cv !== 0 && Math.abs(cv) < 1) {
            const z = Math.sign(bin.int("zero", 0) + cv);
            replace(node, node.derive("Binarize", [bin.inputs[0]!], { zero: z }));
            break;
          }
        }
        if (prod.get(node.outputs[0]!)?.op === "Binarize") continue;
      }
      replace(node, node.derive("Binarize", [node.inputs[0]!], { zero: 0 }));
      continue;
    }
    if (node.op === "Sub") {
      const bin = maskForm(node, prod, constOf);
      if (bin) replace(node, bin);
      continue;
    }
    if (node.op === "Where") {
      const rewritten = whereForm(node, prod, constOf);
      if (!rewritten) continue;
      graph.nodes.splice(graph.nodes.indexOf(node), 1, ...rewritten.nodes);
      for (const [k, v] of rewritten.constants) graph.constants.set(k, v);
      for (const n of rewritten.nodes) prod.set(n.outputs[0]!, n);
    }
  }

  // The straight-through residue: Add(p, Sub(A, p)) -> A, for A a binarization or a
  // constant: x + (sign(x) - x).detach(), Bi-Real's sign(x).detach() - p(x).detach() + p(x)
  // (whatever p computes), the clamp STE of weights alpha * sign(w) - clamp(w) + clamp(w).
  for (const node of [...graph.nodes]) {
    if (node.op !== "Add" || node.inputs.length !== 2) continue;
    for (const [p, q] of [
      [node.inputs[0]!, node.inputs[1]!],
      [node.inputs[1]!, node.inputs[0]!],
    ]) {
      const sub = prod.get(q);
      if (sub?.op !== "Sub" || sub.inputs[1] !== p) continue;
      const a = sub.inputs[0]!;
      if (prod.get(a)?.op !== "Binarize" && !constOf(a)) continue;
      replace(node, node.derive("Identity", [a]));
      break;
    }
  }

  // Skip sign-preserving Clips in front of a Binarize.
  for (const node of graph.nodes) {
    if (node.op !== "Binarize") continue;
    for (;;) {
      const clip = prod.get(node.inputs[0]!);
      if (clip?.op !== "Clip") break;
      const lo = graph.opset >= 11 ? scalarOf(constOf(clip.inputs[1] ?? "")) : clip.float("min", -Infinity);
      const hi = graph.opset >= 11 ? scalarOf(constOf(clip.inputs[2] ?? "")) : clip.float("max", Infinity);
      if (!((lo ?? -Infinity) < 0 && (hi ?? Infinity) > 0)) break;
      node.inputs = [clip.inputs[0]!];
    }
  }
  removeIdentities(graph);
  removeDead(graph);
  return graph.nodes.filter((n) => n.op === "Binarize").length;
}

/** Bypasses Identity nodes (and Dropout, an identity at inference) unless they produce the graph output. */
export function removeIdentities(graph: ImportGraph): void {
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let n = name;
    while (alias.has(n)) n = alias.get(n)!;
    return n;
  };
  for (const node of graph.nodes) {
    node.inputs = node.inputs.map(resolve);
    if ((node.op === "Identity" || node.op === "Dropout") && node.outputs[0] !== graph.output) {
      alias.set(node.outputs[0]!, node.inputs[0]!);
    }
  }
  graph.nodes = graph.nodes.filter((n) => !alias.has(n.outputs[0]!));
}
