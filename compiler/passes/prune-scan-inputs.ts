// Pruning unused loop inputs: a per-step input (xs) or loop constant that a
// scan's body never reads is dropped from the body and from the scan. Other
// passes leave such inputs behind (a hoisted projection no longer reads
// x[t]; a transposed weight replaces its original), and autodiff would
// otherwise give each of them a zero cotangent at every step.
//
// When: in every pipeline (pipeline.ts), after the passes that rewrite loop
// bodies. Pre: a verified graph. Post: a verified graph computing the same
// values; the same object when every input is read. Carries are never
// dropped (they are the loop's state).
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function pruneScanInputs(g: Graph): Graph {
  const unused = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? unusedInputs(n) : []] as const));
  if ([...unused.values()].every((u) => u.length === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const drop = new Set(unused.get(node)!);
    if (drop.size === 0) return undefined;
    const { nCarry, nXs } = scanAttrs(node);
    const body = node.body!;
    const keptXs = [...Array(nXs).keys()].filter((j) => !drop.has(nCarry + j)).length;
    const pruned: Graph = { ...body, inputs: body.inputs.filter((_, k) => !drop.has(k)) };
    return b.emit('scan', node.inputs.filter((_, k) => !drop.has(k)).map(get), { ...node.attrs, nXs: keptXs }, { ...src, body: pruned });
  });
}

/** Indices of non-carry inputs the body never reads. A scan keeps at least one per-step input (it gives the length). */
function unusedInputs(scan: Node): number[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const read = new Set<ValueId>();
  for (const n of body.nodes) n.inputs.forEach((v) => read.add(v));
  for (const o of body.outputs) read.add(o.value);
  const out: number[] = [];
  body.inputs.forEach((inp, k) => {
    if (k >= nCarry && !read.has(inp.value)) out.push(k);
  });
  const droppedXs = out.filter((k) => k < nCarry + nXs).length;
  if (nXs > 0 && droppedXs === nXs) out.splice(out.indexOf(nCarry), 1); // keep the first xs: the step count
  return out;
}
