// Hoisting constants out of time loops: a `constant` node in a scan body
// would make a new scalar tensor at every step; it is made once before the
// loop instead and passed in as a loop constant.
//
// When: in the optimisation pipeline (pipeline.ts), after autodiff (whose
// rules emit constants such as the 1 of sigmoid's derivative). Pre: a
// verified graph. Post: a verified graph computing the same values; the same
// object when no scan body has a constant. Not handled: nested scans.
import { GraphBuilder, inlineGraph, rebuildGraph } from '../ir/builder.js';
import type { Graph } from '../ir/types.js';

export function hoistLoopConstants(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'scan' && n.body!.nodes.some((m) => m.op === 'constant'))) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const consts = node.op === 'scan' ? node.body!.nodes.filter((m) => m.op === 'constant') : [];
    if (consts.length === 0) return undefined;
    const distinct = [...new Set(consts.map((c) => c.attrs['value'] as number))];
    const outer = distinct.map((v) => b.constant(v));
    return b.emit('scan', [...node.inputs.map(get), ...outer], node.attrs, { ...src, body: withConstantInputs(node.body!, distinct) });
  });
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
