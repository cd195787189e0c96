// Joining summed products in a loop: inside a loop body, products of
// different values with loop-constant matrices whose results are only added
// together (`dg_1 @ W_1 + dg_2 @ W_2 + ...`: a cell's backward step, where
// the derivative of the state sums each gate's derivative times its
// matrix) become one product of the values side by side with the matrices
// stacked: `concat(dg_1, dg_2, ...) @ [W_1; W_2; ...]`. The stacked matrix
// is made once, outside the loop, as `concat(W_1^T, W_2^T, ...)` read by
// `linear` (x W^T): for a cell's gates that is the very matrix
// fuse-gate-products.ts joins for the forward step, so common-subexpressions
// makes it once for both. An LSTM backward step then runs one concat and
// one product where it ran four products. Three products at least (two
// would trade two dispatches for two), of distinct matrices.
//
// When: with the gate products joined (pipeline.ts withJoinedGates: the
// webgpu backend, where every kernel is a dispatch of its own), on the
// training graph, before the element-wise groups form. Not elsewhere: on
// cpu and wasm the concat is a copy that the four products do not need.
//
// Pre: a verified graph. Post: a verified graph computing the same values
// (the same dot products, summed in another order); the same object when no
// loop has such a sum. Not handled: nested scans; products whose matrices
// are computed inside the loop; sums that also feed something else midway.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';
import { eliminateDeadCode } from './dead-code.js';

/** Products `mm(a_k, c_k)` summed by one add tree: its root, its leaves, and which leaves are the products. */
interface SumPlan {
  /** The add node whose output is the whole sum. */
  readonly root: Node;
  /** Every term of the sum, in the order the adds read them. */
  readonly leaves: readonly ValueId[];
  /** The products joined, in the order of their matrices outside the loop (the forward join's order). */
  readonly products: readonly Node[];
  /** Body input index of each product's matrix. */
  readonly constIndex: readonly number[];
}

function sumPlans(scan: Node): SumPlan[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const index = new Map(body.inputs.map((inp, k) => [inp.value, k] as const));
  const uses = new Map<ValueId, Node[]>();
  for (const n of body.nodes) for (const v of n.inputs) uses.set(v, [...(uses.get(v) ?? []), n]);
  const output = new Set(body.outputs.map((o) => o.value));
  /** The add that is a value's only use (and the value no loop output), if any. */
  const addOf = (v: ValueId): Node | undefined => {
    const u = uses.get(v);
    return u?.length === 1 && u[0]!.op === 'add' && !output.has(v) ? u[0] : undefined;
  };
  const byRoot = new Map<Node, Node[]>();
  for (const n of body.nodes) {
    if (n.op !== 'mm') continue;
    const c = index.get(n.inputs[1]!);
    const shape = body.values[n.inputs[1]!]!.type.shape;
    if (c === undefined || c < nCarry + nXs || shape.length !== 2 || !shape.every((d) => typeof d === 'number')) continue;
    let add = addOf(n.outputs[0]!);
    if (add === undefined) continue;
    for (let up = addOf(add.outputs[0]!); up !== undefined; up = addOf(add.outputs[0]!)) add = up;
    byRoot.set(add, [...(byRoot.get(add) ?? []), n]);
  }
  const plans: SumPlan[] = [];
  for (const [root, candidates] of byRoot) {
    // One join per shape: products of one width, values of one leading shape.
    const key = (n: Node): string => `${JSON.stringify(body.values[n.outputs[0]!]!.type.shape)}`;
    const first = candidates.filter((n) => key(n) === key(candidates[0]!));
    if (first.length < 2) continue;
    const leaves: ValueId[] = [];
    const walk = (v: ValueId, top: boolean): void => {
      const producer = body.nodes.find((n) => n.outputs[0] === v);
      if (producer?.op === 'add' && (top || addOf(v) !== undefined)) producer.inputs.forEach((x) => walk(x, false));
      else leaves.push(v);
    };
    walk(root.outputs[0]!, true);
    const sorted = first
      .map((n) => ({ n, c: index.get(n.inputs[1]!)! }))
      .filter(({ n }) => leaves.includes(n.outputs[0]!))
      .sort((x, y) => scan.inputs[x.c]! - scan.inputs[y.c]!);
    // n products become a concat and one product: a gain from three on. One matrix twice is left alone
    // (its products would be better summed first).
    if (sorted.length < 3 || new Set(sorted.map((x) => x.c)).size < sorted.length) continue;
    plans.push({ root, leaves, products: sorted.map((x) => x.n), constIndex: sorted.map((x) => x.c) });
  }
  return plans;
}

export function joinSummedProducts(g: Graph): Graph {
  const plans = new Map(g.nodes.filter((n) => n.op === 'scan').map((n) => [n, sumPlans(n)] as const));
  if ([...plans.values()].every((p) => p.length === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const plan = plans.get(node);
    if (!plan || plan.length === 0) return undefined;
    const inputs = node.inputs.map(get);
    // Outside the loop: each plan's matrices stacked, as the transpose `linear` reads.
    const stacked = plan.map((p) => b.op('concat', p.constIndex.map((c) => b.op('transpose', [inputs[c]!], {}, src)), {}, src));
    return b.emit('scan', [...inputs, ...stacked], node.attrs, { ...src, body: rewriteBody(node.body!, plan) });
  });
}

/** The body with each plan's sum rebuilt from its other terms and one joined product, read from one new constant per plan. */
function rewriteBody(body: Graph, plans: readonly SumPlan[]): Graph {
  const byRoot = new Map(plans.map((p, k) => [p.root, k] as const));
  const matrices = plans.map((p, k) => {
    const shapes = p.constIndex.map((c) => body.values[body.inputs[c]!.value]!.type.shape);
    return { type: { shape: [shapes[0]![1]!, shapes.reduce((a, s) => a + (s[0] as number), 0)], dtype: 'f32' as const }, role: 'arg' as const, name: `summed_W${k}` };
  });
  const rebuilt = rebuildGraph(
    body,
    (node, { b, get, src, extra }) => {
      const k = byRoot.get(node);
      if (k === undefined) return undefined;
      const p = plans[k]!;
      const joined = b.op('linear', [b.op('concat', p.products.map((n) => get(n.inputs[0]!)), {}, src), extra[k]!], {}, src);
      const products = new Set(p.products.map((n) => n.outputs[0]!));
      // The other terms in their order, then the joined product in the place of the first product.
      const terms: ValueId[] = [];
      for (const v of p.leaves) {
        if (!products.has(v)) terms.push(get(v));
        else if (v === p.leaves.find((x) => products.has(x))) terms.push(joined);
      }
      return [terms.slice(1).reduce((acc, t) => b.op('add', [acc, t], {}, src), terms[0]!)];
    },
    matrices,
  );
  // The products and adds the joined sum replaced are read by nothing now.
  return eliminateDeadCode(rebuilt);
}
