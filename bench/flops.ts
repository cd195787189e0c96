// FLOPs rnnc actually executes in a training batch, counted from the graph
// the session runs (issue 10: "count them from the graph's products", not
// from a formula that counts products rnnc removed). Every matrix product
// of the IR (compiler/ir/ops.ts: linear, mm, outer, outer_lt) costs 2 FLOPs
// per multiply-add; inside a scan body it runs once per step. Lookups
// (gather), their gradients (scatter_add), fused element-wise groups,
// transposes and the Adam update are not counted.
import type { Graph } from '../compiler/ir/types.js';

/** 2 x (elements of `a`) x (last dim of the result): the multiply-adds of linear, mm, outer and outer_lt. */
const PRODUCT_OPS = new Set(['linear', 'mm', 'outer', 'outer_lt']);

function size(shape: readonly (number | string)[], bind: Readonly<Record<string, number>>): number {
  let n = 1;
  for (const d of shape) {
    const v = typeof d === 'number' ? d : bind[d];
    if (v === undefined) throw new Error(`internal: graph FLOPs: unbound dimension ${d}`);
    n *= v;
  }
  return n;
}

/** FLOPs of the products `graph` runs with its symbolic dimensions (B, T, model dims) bound by `bind`. */
export function graphProductFlops(graph: Graph, bind: Readonly<Record<string, number>>, times = 1): number {
  let total = 0;
  for (const node of graph.nodes) {
    if (node.op === 'scan' && node.body) {
      total += graphProductFlops(node.body, bind, times * bind['T']!);
    } else if (PRODUCT_OPS.has(node.op)) {
      const a = graph.values[node.inputs[0]!]!.type.shape;
      const out = graph.values[node.outputs[0]!]!.type.shape;
      // linear: a [..., K] -> [..., N]; mm: a [..., K] -> [..., N]; outer: a [..., M] -> [M, N]; outer_lt: a [M, ...] -> [M, N].
      total += times * 2 * size(a, bind) * size([out[out.length - 1]!], bind);
    }
  }
  return total;
}
