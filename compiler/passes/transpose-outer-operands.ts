// Sharing the transposes that weight gradients need.
//
// What: after hoist-weight-gradients, each weight gradient is one large
// `outer(a, b)` = a^T b over all steps (a the cotangent of a product, b its
// input, both [T, B, ...]). A backend without a fast transposed matMul
// (wasm, cpu) computes it by transposing a, a full copy of a [T*B, M] slab,
// once per gradient. But the gradients of one cell share operands: the four
// LSTM gates' recurrent weights all read h[t-1], their input weights all
// read x[t]. Transposing the shared operand once and reusing it is far
// cheaper: `outer(a, b)` becomes `outer_lt(lead_last(a), b)` (the transposed
// a), or `transpose(outer_lt(lead_last(b), a))` (the transposed b, then only
// the small [N, M] result is transposed). Which operands to transpose is a
// small covering problem: every outer needs one of its two operands
// transposed; a transposed operand serves every outer it takes part in; the
// cost of transposing is its width (all operands share T*B rows). Chosen
// greedily by outers covered per unit of width; ties keep `a`, as before.
//
// When: in the training pipeline (pipeline.ts), after hoist-weight-gradients,
// before common-subexpressions. Top-level outers only (loop bodies keep
// theirs). Pre: a verified graph with numeric trailing dimensions (with
// symbolic ones it returns the graph unchanged). Post: a verified graph
// computing the same values (exactly: transposes move numbers, and each
// product sums the same terms); the same object when it has no outer.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';

export function transposeOuterOperands(g: Graph): Graph {
  const outers = g.nodes.filter((n) => n.op === 'outer');
  if (outers.length === 0) return g;
  const width = (v: ValueId): number | undefined => {
    const s = g.values[v]!.type.shape;
    const d = s[s.length - 1];
    return typeof d === 'number' ? d : undefined;
  };
  if (outers.some((n) => n.inputs.some((v) => width(v) === undefined))) return g;

  // Greedy cover: which operand each outer has transposed.
  const plan = new Map<Node, 'a' | 'b'>();
  while (plan.size < outers.length) {
    let best: { v: ValueId; score: number; asA: boolean } | undefined;
    const seen = new Set<ValueId>();
    for (const n of outers) {
      if (plan.has(n)) continue;
      for (const [k, v] of n.inputs.entries()) {
        if (seen.has(v)) continue;
        seen.add(v);
        const covers = outers.filter((o) => !plan.has(o) && o.inputs.includes(v)).length;
        const score = covers / width(v)!;
        // Strictly better wins; on a tie an `a` operand (no result transpose) beats a `b` one.
        if (!best || score > best.score || (score === best.score && k === 0 && !best.asA)) best = { v, score, asA: k === 0 };
      }
    }
    for (const o of outers) if (!plan.has(o) && o.inputs.includes(best!.v)) plan.set(o, o.inputs[0] === best!.v ? 'a' : 'b');
  }
  if ([...plan.values()].every((p) => p === 'a') && new Set(outers.map((o) => o.inputs[0])).size === outers.length) {
    // Nothing shared and nothing swapped: the kernel's own transpose of `a` is the same work.
    return g;
  }

  const transposed = new Map<ValueId, ValueId>();
  return rebuildGraph(g, (node, { b, get, src }) => {
    const how = plan.get(node);
    if (how === undefined) return undefined;
    const [a, c] = node.inputs as [ValueId, ValueId];
    const lead = (v: ValueId): ValueId => {
      let t = transposed.get(v);
      if (t === undefined) {
        t = b.op('lead_last', [get(v)], {}, src);
        transposed.set(v, t);
      }
      return t;
    };
    if (how === 'a') return [b.op('outer_lt', [lead(a), get(c)], {}, src)];
    return [b.op('transpose', [b.op('outer_lt', [lead(c), get(a)], {}, src)], {}, src)];
  });
}
