// Unrolling: replaces every scan of the top-level graph by `steps` inlined
// copies of its body, reading xs with time_index and stacking ys with
// time_stack.
//
// When: only on request, for a known, small sequence length: the oracle
// that scan gradients equal the unrolled program's (test/gradcheck), and
// emitted code that unrolls short loops. Pre: a verified graph whose scans'
// xs have `steps` steps at run time. Post: a verified graph without
// top-level scans, same inputs and outputs (time axes become `steps`).
// Not handled: scans nested in scan bodies (lowering never makes them).
import { GraphBuilder, inlineGraph } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function unrollScans(g: Graph, steps: number): Graph {
  if (!g.nodes.some((n) => n.op === 'scan')) return g;
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  g.inputs.forEach((inp) => {
    const t = g.values[inp.value]!.type;
    const shape = t.shape.map((d) => (d === 'T' ? steps : d));
    map.set(inp.value, b.input({ shape, dtype: t.dtype }, inp.role, inp.name));
  });
  const get = (v: ValueId): ValueId => map.get(v)!;
  for (const node of g.nodes) {
    b.source = node.source;
    let outs: ValueId[];
    if (node.op === 'scan') {
      const { nCarry, nXs, reverse } = scanAttrs(node);
      const inputs = node.inputs.map(get);
      let carries = inputs.slice(0, nCarry);
      const xs = inputs.slice(nCarry, nCarry + nXs);
      const consts = inputs.slice(nCarry + nXs);
      const ys: ValueId[][] = node.outputs.slice(nCarry).map(() => new Array<ValueId>(steps));
      for (let k = 0; k < steps; k++) {
        const t = reverse ? steps - 1 - k : k;
        const xt = xs.map((x) => b.op('time_index', [x], { index: t }));
        const res = inlineGraph(b, node.body!, [...carries, ...xt, ...consts]);
        carries = res.slice(0, nCarry);
        res.slice(nCarry).forEach((y, i) => {
          ys[i]![t] = y;
        });
      }
      outs = [...carries, ...ys.map((list) => b.op('time_stack', list))];
    } else {
      outs = b.emit(node.op, node.inputs.map(get), node.attrs);
    }
    node.outputs.forEach((o, i) => {
      map.set(o, outs[i]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(outs[i]!, name);
    });
  }
  b.source = undefined;
  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  return b.build();
}
