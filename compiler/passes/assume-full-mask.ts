// Specialising a model to batches without padding. Each recurrence keeps its
// state on padded steps with `s' = s + m * (s_new - s)` (sema/cell.ts), m
// being the step's slice of the batch mask; when every mask entry is 1 that
// is s_new, and the three elementwise ops per state and step (and their
// derivatives in the reverse loop) are wasted work. This pass rewrites every
// such update to `s_new`; the mask then feeds no loop, and the pruning and
// dead-code passes drop it from the bodies.
//
// When: on the model's forward graph, before the pre-autodiff pipeline, for
// the variant the runtime runs on batches whose mask is all ones (every
// sequence as long as the batch; streaming one step). Pre: a verified graph.
// Post: a verified graph computing the same values when `mask` is all ones
// (up to float32 rounding: s + 1 * (s_new - s) may differ from s_new in the
// last bit); the same object when no loop reads the mask.
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';
import { eliminateDeadCode } from './dead-code.js';
import { pruneScanInputs } from './prune-scan-inputs.js';

export function assumeFullMask(g: Graph): Graph {
  const mask = g.inputs.find((i) => i.role === 'data' && i.name === 'mask')?.value;
  if (mask === undefined) return g;
  const perStep = new Set(g.nodes.filter((n) => n.op === 'expand_last' && n.inputs[0] === mask).map((n) => n.outputs[0]!));
  let changed = false;
  const nodes = g.nodes.map((n): Node => {
    if (n.op !== 'scan') return n;
    const { nCarry, nXs } = scanAttrs(n);
    const body = n.body!;
    let next = body;
    for (let k = nCarry; k < nCarry + nXs; k++) {
      if (perStep.has(n.inputs[k]!)) next = unmaskBody(next, body.inputs[k]!.value);
    }
    if (next === body) return n;
    changed = true;
    return { ...n, body: next };
  });
  if (!changed) return g;
  return eliminateDeadCode(pruneScanInputs({ ...g, nodes }));
}

/** Replaces every `add(s, mul(m, sub(s_new, s)))` in a loop body (m the mask slice) by s_new. */
function unmaskBody(body: Graph, m: ValueId): Graph {
  const producer = new Map<ValueId, Node>();
  for (const n of body.nodes) n.outputs.forEach((o) => producer.set(o, n));
  const subst = new Map<ValueId, ValueId>();
  for (const n of body.nodes) {
    if (n.op !== 'add') continue;
    const [s, t] = n.inputs as [ValueId, ValueId];
    const mul = producer.get(t);
    if (mul?.op !== 'mul') continue;
    const [a, c] = mul.inputs as [ValueId, ValueId];
    const diff = a === m ? c : c === m ? a : undefined;
    const sub = diff === undefined ? undefined : producer.get(diff);
    if (sub?.op !== 'sub' || sub.inputs[1] !== s) continue;
    subst.set(n.outputs[0]!, sub.inputs[0]!);
  }
  if (subst.size === 0) return body;
  const to = (v: ValueId): ValueId => subst.get(v) ?? v;
  return eliminateDeadCode({
    ...body,
    nodes: body.nodes.map((n) => (n.inputs.some((v) => subst.has(v)) ? { ...n, inputs: n.inputs.map(to) } : n)),
    outputs: body.outputs.map((o) => (subst.has(o.value) ? { ...o, value: to(o.value) } : o)),
  });
}
