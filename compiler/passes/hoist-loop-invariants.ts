// Hoisting loop-invariant work out of time loops.
//
// What: inside the body of a top-level scan, a node whose inputs are all loop
// constants (the scan's constant inputs, literal constants, or values made
// only from them) computes the same value at every step. It is computed once
// before the loop and passed in as a new loop constant. The case that pays:
// additive attention's projection of the memory, `W_m @ m_l` for every row
// of the memory ([B, L, D] x [A, D]), made at every decoder step otherwise;
// its derivative then becomes one product after the reverse loop instead of
// one per step (the reverse loop only sums the cotangent of the projection).
//
// When: before autodiff (pipeline.ts, PRE_AUTODIFF_PIPELINE), on the model's
// forward graph. Pre: a verified graph. Post: a verified graph computing the
// same values; the same object when no scan body has such a node. Literal
// constants alone stay in the body (hoist-loop-constants moves those after
// autodiff). Not handled: nested scans.
import { GraphBuilder, rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function hoistLoopInvariants(g: Graph): Graph {
  const plans = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? invariantNodes(n) : new Set<Node>()] as const));
  if ([...plans.values()].every((p) => p.size === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const hoisted = plans.get(node)!;
    if (hoisted.size === 0) return undefined;
    const body = node.body!;
    const inputs = node.inputs.map(get);
    // The hoisted nodes, in body order, outside the loop: body constant inputs read the scan's operands.
    const outside = new Map<ValueId, ValueId>();
    body.inputs.forEach((inp, k) => outside.set(inp.value, inputs[k]!));
    for (const n of body.nodes) {
      if (n.op === 'constant') outside.set(n.outputs[0]!, b.constant(n.attrs['value'] as number));
      if (!hoisted.has(n)) continue;
      const outs = b.emit(n.op, n.inputs.map((v) => outside.get(v)!), n.attrs, n.source !== undefined ? { source: n.source } : src);
      n.outputs.forEach((o, i) => outside.set(o, outs[i]!));
    }
    // What the body still reads of them: new loop constants.
    const frontier = frontierValues(body, hoisted);
    return b.emit('scan', [...inputs, ...frontier.map((v) => outside.get(v)!)], node.attrs, { ...src, body: rewriteBody(body, hoisted, frontier) });
  });
}

/** The body nodes (not literal constants alone) whose value is the same at every step. */
function invariantNodes(scan: Node): Set<Node> {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const invariant = new Set<ValueId>(body.inputs.slice(nCarry + nXs).map((i) => i.value));
  const hoisted = new Set<Node>();
  for (const n of body.nodes) {
    if (n.op === 'constant') {
      invariant.add(n.outputs[0]!);
      continue;
    }
    if (n.body !== undefined || n.inputs.length === 0 || !n.inputs.every((v) => invariant.has(v))) continue;
    hoisted.add(n);
    n.outputs.forEach((o) => invariant.add(o));
  }
  return hoisted;
}

/** Values of hoisted nodes that the rest of the body (or its outputs) reads. */
function frontierValues(body: Graph, hoisted: ReadonlySet<Node>): ValueId[] {
  const made = new Set([...hoisted].flatMap((n) => n.outputs));
  const read = new Set<ValueId>();
  for (const n of body.nodes) if (!hoisted.has(n)) for (const v of n.inputs) if (made.has(v)) read.add(v);
  for (const o of body.outputs) if (made.has(o.value)) read.add(o.value);
  return [...read].sort((a, c) => a - c);
}

/** The body without the hoisted nodes, reading the frontier values from new trailing inputs. */
function rewriteBody(body: Graph, hoisted: ReadonlySet<Node>, frontier: readonly ValueId[]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  body.inputs.forEach((inp) => map.set(inp.value, b.input(body.values[inp.value]!.type, inp.role, inp.name)));
  frontier.forEach((v, k) => map.set(v, b.input(body.values[v]!.type, 'arg', body.values[v]!.name ?? `invariant_${k}`)));
  for (const n of body.nodes) {
    if (hoisted.has(n)) continue;
    const outs = b.emit(n.op, n.inputs.map((v) => map.get(v)!), n.attrs, { ...(n.source !== undefined ? { source: n.source } : {}), ...(n.body ? { body: n.body } : {}) });
    n.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = body.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  body.outputs.forEach((o) => b.output(map.get(o.value)!, o.role, o.name));
  return b.build();
}
