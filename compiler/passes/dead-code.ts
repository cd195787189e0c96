// Dead-code elimination: drops nodes none of whose outputs reach a graph
// output. Runs on every graph the autodiff builds (VJP rules emit the
// cotangents of all inputs, including data inputs nobody asked for) and on
// the bodies of the reverse scans it makes.
//
// Pre: a verified graph. Post: a verified graph with the same inputs and
// outputs; returns the same object when nothing was dead. A scan is kept
// whole when any of its outputs is live (its body is not pruned here).
import type { Graph, ValueId } from '../ir/types.js';

export function eliminateDeadCode(g: Graph): Graph {
  const live = new Set<ValueId>(g.outputs.map((o) => o.value));
  const keep = new Array<boolean>(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => live.has(o))) continue;
    keep[i] = true;
    for (const v of node.inputs) live.add(v);
  }
  if (keep.every(Boolean)) return g;
  return { ...g, nodes: g.nodes.filter((_, i) => keep[i]) };
}
