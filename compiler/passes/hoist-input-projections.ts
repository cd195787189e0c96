// Hoisting input projections out of time loops.
//
// What: inside the body of a top-level scan, `linear(x_t, W)` where x_t is a
// per-step input (a slice of the sequence xs) and W a loop constant does not
// depend on the recurrence: it is computed for all steps at once before the
// loop, `P = linear(xs, W)` ([T, B, H]), one large product instead of T
// small ones, and the body reads P's step as a new per-step input. Its
// derivative then also happens outside the reverse loop, as large products.
//
// When: before autodiff (pipeline.ts, PRE_AUTODIFF_PIPELINE), on the model's
// forward graph. Pre: a verified graph. Post: a verified graph computing the
// same values (float rounding aside); the same object when no scan has such
// a projection. Not handled: nested scans; projections of values computed
// inside the body (they depend on the step).
import { GraphBuilder, rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

/** A projection to hoist: the body's linear node, its per-step input index and constant index. */
interface Projection {
  readonly node: Node;
  readonly xIndex: number;
  readonly wIndex: number;
}

export function hoistInputProjections(g: Graph): Graph {
  const plans = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? projections(n) : []] as const));
  if ([...plans.values()].every((p) => p.length === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const plan = plans.get(node)!;
    if (plan.length === 0) return undefined;
    const { nCarry, nXs } = scanAttrs(node);
    const inputs = node.inputs.map(get);
    // One projection per distinct (input, weight) pair, computed over all steps.
    const keys = uniquePairs(plan);
    const projected = keys.map(([x, w]) => b.op('linear', [inputs[x]!, inputs[w]!], {}, src));
    return b.emit(
      'scan',
      [...inputs.slice(0, nCarry + nXs), ...projected, ...inputs.slice(nCarry + nXs)],
      { ...node.attrs, nXs: nXs + keys.length },
      { ...src, body: rewriteBody(node.body!, nCarry, nXs, plan, keys) },
    );
  });
}

function projections(scan: Node): Projection[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const index = new Map(body.inputs.map((inp, k) => [inp.value, k] as const));
  const out: Projection[] = [];
  for (const n of body.nodes) {
    if (n.op !== 'linear') continue;
    const x = index.get(n.inputs[0]!);
    const w = index.get(n.inputs[1]!);
    const perStep = x !== undefined && x >= nCarry && x < nCarry + nXs;
    const constant = w !== undefined && w >= nCarry + nXs;
    if (perStep && constant && body.values[n.inputs[0]!]!.type.dtype === 'f32') out.push({ node: n, xIndex: x, wIndex: w });
  }
  return out;
}

function uniquePairs(plan: readonly Projection[]): [number, number][] {
  const seen = new Map<string, [number, number]>();
  for (const p of plan) seen.set(`${p.xIndex},${p.wIndex}`, [p.xIndex, p.wIndex]);
  return [...seen.values()];
}

/** The body with each hoisted projection replaced by a new per-step input (after the other xs). */
function rewriteBody(body: Graph, nCarry: number, nXs: number, plan: readonly Projection[], keys: readonly [number, number][]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  const created = body.inputs.map((inp) => b.input(body.values[inp.value]!.type, inp.role, inp.name));
  body.inputs.forEach((inp, k) => map.set(inp.value, created[k]!));
  const projectedInputs = keys.map(([x, w]) => {
    const t = body.values[plan.find((p) => p.xIndex === x && p.wIndex === w)!.node.outputs[0]!]!.type;
    return b.input(t, 'arg', `${body.inputs[w]!.name}_x`);
  });
  const replaced = new Map<Node, ValueId>();
  for (const p of plan) replaced.set(p.node, projectedInputs[keys.findIndex(([x, w]) => x === p.xIndex && w === p.wIndex)]!);
  const get = (v: ValueId): ValueId => map.get(v)!;
  for (const node of body.nodes) {
    const r = replaced.get(node);
    if (r !== undefined) {
      map.set(node.outputs[0]!, r);
      continue;
    }
    const src = node.source !== undefined ? { source: node.source } : {};
    const outs = b.emit(node.op, node.inputs.map(get), node.attrs, node.body ? { body: node.body, ...src } : src);
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = body.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  body.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  const built = b.build();
  // The projections are per-step inputs: they go after the other xs, before the constants.
  const n = body.inputs.length;
  const inputs = [...built.inputs.slice(0, nCarry + nXs), ...built.inputs.slice(n), ...built.inputs.slice(nCarry + nXs, n)];
  return { ...built, inputs };
}
