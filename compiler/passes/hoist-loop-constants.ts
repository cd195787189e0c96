// Hoisting constants out of time loops: a `constant` node in a scan body
// would make a new scalar tensor at every step; it is made once before the
// loop instead and passed in as a loop constant.
//
// When: in the optimisation pipeline (pipeline.ts), after autodiff (whose
// rules emit constants such as the 1 of sigmoid's derivative). Pre: a
// verified graph. Post: a verified graph computing the same values; the same
// object when no scan body has a constant. Not handled: nested scans.
import { GraphBuilder, inlineGraph } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/types.js';

export function hoistLoopConstants(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'scan' && n.body!.nodes.some((m) => m.op === 'constant'))) return g;
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  g.inputs.forEach((inp) => map.set(inp.value, b.input(g.values[inp.value]!.type, inp.role, inp.name)));
  const get = (v: ValueId): ValueId => map.get(v)!;
  for (const node of g.nodes) {
    const src = node.source !== undefined ? { source: node.source } : {};
    let outs: ValueId[];
    const consts = node.op === 'scan' ? node.body!.nodes.filter((m) => m.op === 'constant') : [];
    if (consts.length === 0) {
      outs = b.emit(node.op, node.inputs.map(get), node.attrs, node.body ? { body: node.body, ...src } : src);
    } else {
      const values = consts.map((c) => c.attrs['value'] as number);
      const distinct = [...new Set(values)];
      const outer = distinct.map((v) => b.constant(v));
      outs = b.emit('scan', [...node.inputs.map(get), ...outer], node.attrs, { body: withConstantInputs(node.body!, distinct), ...src });
    }
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  return b.build();
}

/** The body reading each distinct constant from a new trailing input instead of making it. */
function withConstantInputs(body: Graph, distinct: readonly number[]): Graph {
  const b = new GraphBuilder();
  const args = body.inputs.map((inp) => b.input(body.values[inp.value]!.type, inp.role, inp.name));
  const constInputs = distinct.map((v) => b.input({ shape: [], dtype: 'f32' }, 'arg', `const_${v}`));
  const inner: Graph = {
    ...body,
    nodes: body.nodes.filter((n) => n.op !== 'constant'),
    inputs: [
      ...body.inputs,
      ...body.nodes
        .filter((n) => n.op === 'constant')
        .map((n) => ({ value: n.outputs[0]!, role: 'arg' as const, name: `const_${n.attrs['value'] as number}` })),
    ],
  };
  const constArgs = body.nodes.filter((n) => n.op === 'constant').map((n) => constInputs[distinct.indexOf(n.attrs['value'] as number)]!);
  const outs = inlineGraph(b, inner, [...args, ...constArgs]);
  body.outputs.forEach((o, i) => b.output(outs[i]!, o.role, o.name));
  return b.build();
}
