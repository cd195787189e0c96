// Truncated BPTT as a graph transformation.
//
// What: every forward scan of the top-level graph gets one more per-step
// input, the control tensor `gate` [T], and its body passes everything the
// step produces (new carries and per-step outputs) through
// `grad_gate(value, gate[t])`. Forward values are unchanged. In the
// derivative, a step with gate 0 is a constant: no cotangent reaches its
// computation or the steps before it through the recurrence. Later layers
// (an output layer) still get their own gradients from its outputs.
//
// The runtime (runtime/train/windows.ts) runs each window ending at step
// tau from the state at tau - max(k1, k2), and sets gate[t] = 0 for the
// steps up to tau - k2, so that the state at tau - k2 is a constant: every
// path back through the recurrence stops there. With k2 >= k1 the window
// starts at tau - k2 and every gate is 1.
//
// When: after lowering, before differentiation, only for `bptt truncated`.
// Pre: a verified graph. Post: a verified graph with one more input (role
// control, name `gate`) when it has a forward scan with carries; otherwise
// the same object. Not handled: backward scans (sema rejects truncated BPTT
// for models that have them, RNN5006).
import { GraphBuilder, inlineGraph, rebuildGraph } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function truncateScans(g: Graph): Graph {
  const targets = new Set(g.nodes.filter((n) => n.op === 'scan' && scanAttrs(n).nCarry > 0 && !scanAttrs(n).reverse));
  if (targets.size === 0) return g;
  let gate: ValueId | undefined;
  const out = rebuildGraph(g, (node, { b, get, src }) => {
    if (!targets.has(node)) return undefined;
    gate ??= b.input({ shape: ['T'], dtype: 'f32' }, 'control', 'gate');
    const { nCarry, nXs } = scanAttrs(node);
    const inputs = node.inputs.map(get);
    return b.emit(
      'scan',
      [...inputs.slice(0, nCarry + nXs), gate, ...inputs.slice(nCarry + nXs)],
      { ...node.attrs, nXs: nXs + 1 },
      { ...src, body: gatedBody(node.body!, nCarry, nXs) },
    );
  });
  return out;
}

function gatedBody(body: Graph, nCarry: number, nXs: number): Graph {
  const b = new GraphBuilder();
  const ins = body.inputs.map((inp) => b.input(body.values[inp.value]!.type, inp.role, inp.name));
  const g = b.input({ shape: [], dtype: 'f32' }, 'arg', 'gate_t');
  const outs = inlineGraph(b, body, ins);
  body.outputs.forEach((o, i) => {
    const v = outs[i]!;
    b.output(b.type(v).dtype === 'f32' ? b.op('grad_gate', [v, g]) : v, o.role, o.name);
  });
  const built = b.build();
  // The gate is a per-step input: it goes after the other xs.
  const inputs = [...built.inputs.slice(0, nCarry + nXs), built.inputs.at(-1)!, ...built.inputs.slice(nCarry + nXs, -1)];
  return { ...built, inputs };
}
