// Dead-code elimination: drops nodes none of whose outputs reach a graph
// output. Runs on every graph the autodiff builds (VJP rules emit the
// cotangents of all inputs, including data inputs nobody asked for) and on
// the bodies of the reverse scans it makes.
//
// Pre: a verified graph. Post: a verified graph with the same inputs and
// outputs; returns the same object when nothing was dead. A scan is kept
// whole when any of its outputs is live (its body is not pruned here); a
// fused group with dead outputs keeps only what its live outputs need.
import { fusedBody, type FusedArg, type FusedBody, type Graph, type Node, type ValueId } from '../ir/types.js';

export function eliminateDeadCode(g: Graph): Graph {
  const live = new Set<ValueId>(g.outputs.map((o) => o.value));
  const nodes: (Node | undefined)[] = g.nodes.map(() => undefined);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    let node = g.nodes[i]!;
    if (!node.outputs.some((o) => live.has(o))) continue;
    if (node.op === 'fused' && !node.outputs.every((o) => live.has(o))) node = pruneFused(node, live);
    nodes[i] = node;
    for (const v of node.inputs) live.add(v);
  }
  if (nodes.every((n, i) => n === g.nodes[i])) return g;
  return { ...g, nodes: nodes.filter((n): n is Node => n !== undefined) };
}

/**
 * A fused group with some outputs dead keeps only the instructions its live
 * outputs need (and only the inputs those read): a group that computed a
 * prediction and its loss no longer reads the targets once the loss is gone.
 */
function pruneFused(node: Node, live: ReadonlySet<ValueId>): Node {
  const { instrs, outputs } = fusedBody(node);
  const kept = outputs.map((_, j) => j).filter((j) => live.has(node.outputs[j]!));
  const needed = new Set(kept.map((j) => outputs[j]!));
  for (let k = instrs.length - 1; k >= 0; k--) {
    if (!needed.has(k)) continue;
    for (const a of instrs[k]!.args) if ('tmp' in a) needed.add(a.tmp);
  }
  const newIndex = new Map<number, number>();
  [...needed].sort((a, b) => a - b).forEach((old, k) => newIndex.set(old, k));
  // Inputs are told apart by value and window (one value may be read through several windows).
  const windows = node.attrs['windows'] as readonly number[] | undefined;
  const keptInputs: number[] = [];
  const renamed = (a: FusedArg): FusedArg => {
    if ('tmp' in a) return { tmp: newIndex.get(a.tmp)! };
    if (!('in' in a)) return a;
    if (!keptInputs.includes(a.in)) keptInputs.push(a.in);
    return { in: keptInputs.indexOf(a.in) };
  };
  const body: FusedBody = {
    instrs: instrs.filter((_, k) => needed.has(k)).map((instr) => ({ ...instr, args: instr.args.map(renamed) })),
    outputs: kept.map((j) => newIndex.get(outputs[j]!)!),
  };
  return {
    ...node,
    inputs: keptInputs.map((k) => node.inputs[k]!),
    outputs: kept.map((j) => node.outputs[j]!),
    attrs: {
      ...node.attrs,
      body,
      ...(windows !== undefined ? { windows: keptInputs.flatMap((k) => [windows[2 * k]!, windows[2 * k + 1]!]) } : {}),
    },
  };
}
