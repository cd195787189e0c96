// Lifting parameter transposes out of the graph: every top-level
// `transpose(P)` of a parameter P, and every top-level `linear(x, P)`
// (x P^T), read a new graph input `transpose:P` (role derived) instead, which
// the runtime computes once and keeps until the parameter changes — once per
// optimizer step in training, once in all for sampling and streaming, where
// a step is so small that per-call transposes are most of the work.
//
// When: by the tfjs runtime (runtime/train/session.ts) on the graphs it runs,
// after the optimisation pipeline; not in emitted modules, which transpose
// inside the call. Pre: a verified graph. Post: a verified graph with one
// derived input per transposed parameter; the same object when there is none.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/types.js';

/** Derived inputs are named  (the tfjs session makes them; runtime/train/session.ts). */
export const TRANSPOSE_PREFIX = 'transpose:';

export function liftParamTransposes(g: Graph): Graph {
  const params = new Map(g.inputs.filter((i) => i.role === 'param').map((i) => [i.value, i.name] as const));
  const lifts = (v: ValueId | undefined): boolean => v !== undefined && params.has(v) && g.values[v]!.type.shape.length === 2;
  if (!g.nodes.some((n) => (n.op === 'transpose' && lifts(n.inputs[0])) || (n.op === 'linear' && lifts(n.inputs[1])))) return g;
  const derived = new Map<ValueId, ValueId>();
  return rebuildGraph(g, (node, { b, get, src }) => {
    const p = node.op === 'transpose' ? node.inputs[0] : node.op === 'linear' ? node.inputs[1] : undefined;
    if (!lifts(p)) return undefined;
    let t = derived.get(p!);
    if (t === undefined) {
      const shape = g.values[p!]!.type.shape;
      t = b.input({ shape: [shape[1]!, shape[0]!], dtype: 'f32' }, 'derived', `${TRANSPOSE_PREFIX}${params.get(p!)!}`);
      derived.set(p!, t);
    }
    return node.op === 'transpose' ? [t] : [b.op('mm', [get(node.inputs[0]!), t], {}, src)];
  });
}
