// Common-subexpression elimination: a node with the same op, inputs and
// attributes as an earlier one is dropped and its uses read the earlier
// result (e.g. one transpose of a weight shared by the forward and the
// reverse scan). Scans are never merged (their bodies would have to be
// compared); their bodies are not visited.
//
// When: in the optimisation pipeline, before dead-code elimination.
// Pre: a verified graph. Post: a verified graph computing the same values;
// the same object when nothing repeats.
import type { Graph, Node, ValueId } from '../ir/types.js';

export function eliminateCommonSubexpressions(g: Graph): Graph {
  const seen = new Map<string, Node>();
  const replace = new Map<ValueId, ValueId>();
  const nodes: Node[] = [];
  const ref = (v: ValueId): ValueId => replace.get(v) ?? v;
  let changed = false;
  for (const node of g.nodes) {
    const inputs = node.inputs.map(ref);
    const renamed = inputs.some((v, i) => v !== node.inputs[i]) ? { ...node, inputs } : node;
    if (renamed !== node) changed = true;
    if (node.op === 'scan' || node.op === 'constant') {
      nodes.push(renamed);
      continue;
    }
    // Attributes by sorted key, each written out whole (a fused node's body is nested).
    const key = `${node.op}(${inputs.join(',')})${JSON.stringify(Object.keys(node.attrs).sort().map((k) => [k, node.attrs[k]]))}`;
    const prev = seen.get(key);
    if (prev && prev.outputs.length === node.outputs.length) {
      node.outputs.forEach((o, i) => replace.set(o, prev.outputs[i]!));
      changed = true;
      continue;
    }
    seen.set(key, renamed);
    nodes.push(renamed);
  }
  if (!changed) return g;
  return { ...g, nodes, outputs: g.outputs.map((o) => ({ ...o, value: ref(o.value) })) };
}
