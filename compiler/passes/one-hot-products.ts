// Products with one-hot vectors become lookups.
//
// What: `linear(one_hot(ids), W)` (W [H, V]: the `W @ one_hot(x[t])` of a
// cell reading tokens, after hoist-input-projections made it one product over
// all steps) is row ids of W^T: `gather(transpose(W), ids)`; likewise
// `mm(one_hot(ids), W)` is `gather(W, ids)`. The derivative then adds the
// cotangent rows into the table (scatter_add) instead of a [V, T*B] x
// [T*B, H] product with a one-hot matrix: measured 20x (wasm) to 100x (cpu)
// faster at size M. The lookup itself is chosen per backend by the gather
// kernel (runtime/tfjs/portable-ops.ts gatherRows).
//
// When: in the pre-autodiff pipeline (pipeline.ts), after
// hoist-input-projections, on the model's forward graph, so the derivative
// is made from the lookups. Top level only: a product left inside a loop
// (not hoisted) keeps its form. Pre: a verified graph. Post: a verified
// graph computing the same values (exactly: a one-hot product adds zeros);
// the same object when no product reads a one-hot.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';

export function oneHotProducts(g: Graph): Graph {
  const producer = new Map<ValueId, Node>();
  for (const n of g.nodes) n.outputs.forEach((o) => producer.set(o, n));
  const oneHotIds = (v: ValueId): ValueId | undefined => {
    const p = producer.get(v);
    return p?.op === 'one_hot' ? p.inputs[0] : undefined;
  };
  const rewritten = g.nodes.filter((n) => (n.op === 'linear' || n.op === 'mm') && oneHotIds(n.inputs[0]!) !== undefined);
  if (rewritten.length === 0) return g;
  const targets = new Set(rewritten);
  return rebuildGraph(g, (node, { b, get, src }) => {
    if (!targets.has(node)) return undefined;
    const ids = get(oneHotIds(node.inputs[0]!)!);
    const w = get(node.inputs[1]!);
    const table = node.op === 'linear' ? b.op('transpose', [w], {}, src) : w;
    return [b.op('gather', [table, ids], {}, src)];
  });
}
