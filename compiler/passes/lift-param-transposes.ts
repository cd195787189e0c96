// Lifting parameter transposes out of the graph: every top-level
// `transpose(P)` of a parameter P, and every top-level `linear(x, P)`
// (x P^T), read a new graph input `transpose:P` (role derived) instead, which
// the runtime computes once and keeps until the parameter changes — once per
// optimizer step in training, once in all for sampling and streaming, where
// a step is so small that per-call transposes are most of the work. The
// transposes of several parameters side by side (`concat` of them: a cell's
// gate matrices, fuse-gate-products.ts) are one derived input
// `transpose:P1+P2+...`: a product against a new matrix costs wasm a repacking.
//
// When: by the tfjs runtime (runtime/train/session.ts) on the graphs it runs,
// after the optimisation pipeline, and by emitted modules on their predict
// graph (kept per parameter set). Pre: a verified graph. Post: a verified graph with one
// derived input per transposed parameter; the same object when there is none.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';

/** Derived inputs are named  (the tfjs session makes them; runtime/train/session.ts). */
export const TRANSPOSE_PREFIX = 'transpose:';
/** Between the parameters of a derived input that is their transposes side by side (one matrix per cell's gates). */
export const JOINED_SEPARATOR = '+';

export function liftParamTransposes(g: Graph): Graph {
  const params = new Map(g.inputs.filter((i) => i.role === 'param').map((i) => [i.value, i.name] as const));
  const lifts = (v: ValueId | undefined): boolean => v !== undefined && params.has(v) && g.values[v]!.type.shape.length === 2;
  const producer = new Map(g.nodes.map((n) => [n.outputs[0]!, n] as const));
  // Transposes side by side (fuse-gate-products.ts): `transpose:P1+P2+...`.
  const transposedParams = (n: Node): string[] | undefined => {
    if (n.op !== 'concat') return undefined;
    const names = n.inputs.map((v) => {
      const p = producer.get(v);
      return p?.op === 'transpose' && lifts(p.inputs[0]) ? params.get(p.inputs[0]!)! : undefined;
    });
    return names.every((x) => x !== undefined) ? (names as string[]) : undefined;
  };
  if (!g.nodes.some((n) => (n.op === 'transpose' && lifts(n.inputs[0])) || (n.op === 'linear' && lifts(n.inputs[1])))) return g;
  const derived = new Map<ValueId, ValueId>();
  return rebuildGraph(g, (node, { b, get, src }) => {
    const joined = transposedParams(node);
    if (joined) return [b.input(g.values[node.outputs[0]!]!.type, 'derived', `${TRANSPOSE_PREFIX}${joined.join(JOINED_SEPARATOR)}`)];
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
