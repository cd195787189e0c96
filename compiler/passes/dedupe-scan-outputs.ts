// Merging loop outputs that stack the same value, or restack an input.
//
// What: autodiff and hoist-weight-gradients give a reverse loop one stacked
// output per use of a step value: the cotangent of an LSTM gate comes out as
// the input-projection gradient, the weight-gradient factor and the bias
// gradient term, and h[t-1] once per gate. Each stacked output is a copy of
// T slabs, and separate copies of one value also hide from later passes that
// the values are equal (transpose-outer-operands shares work only between
// equal operands). Here every per-step output of a scan that repeats an
// earlier one (the same body value) is dropped and its uses read the first.
// A per-step output that is the step's slice of a per-step input (the reverse
// loop handing h[t-1], which it reads from the forward loop, to a weight
// gradient) is dropped too, and its uses read the stacked input itself: a
// loop places its step t's outputs at t whichever way it runs.
//
// When: in the training and forward pipelines (pipeline.ts), after
// hoist-weight-gradients and before transpose-outer-operands and
// common-subexpressions. Pre: a verified graph. Post: a verified graph
// computing the same values; the same object when no scan repeats an output.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

/** Per body output: the index of the body output it repeats (itself when kept), or the scan input it restacks. */
type Source = { readonly output: number } | { readonly input: number };

export function dedupeScanOutputs(g: Graph): Graph {
  const plans = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? sourcesOf(n) : undefined] as const));
  if ([...plans.values()].every((p) => p === undefined)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const sources = plans.get(node);
    if (sources === undefined) return undefined;
    const body = node.body!;
    const kept = (s: Source, k: number): boolean => 'output' in s && s.output === k;
    const outs = b.emit('scan', node.inputs.map(get), node.attrs, { ...src, body: { ...body, outputs: body.outputs.filter((_, k) => kept(sources[k]!, k)) } });
    const position = new Map<number, number>();
    sources.forEach((s, k) => kept(s, k) && position.set(k, position.size));
    return sources.map((s) => ('input' in s ? get(node.inputs[s.input]!) : outs[position.get(s.output)!]!));
  });
}

/** Where each body output's stacked value comes from; undefined when every output is its own. */
function sourcesOf(scan: Node): Source[] | undefined {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const xsArg = new Map<number, number>();
  body.inputs.slice(nCarry, nCarry + nXs).forEach((a, j) => xsArg.set(a.value, nCarry + j));
  const seen = new Map<number, number>();
  let changed = false;
  const sources = body.outputs.map((o, k): Source => {
    if (k < nCarry) return { output: k }; // final carries are never merged
    const input = xsArg.get(o.value);
    if (input !== undefined) {
      changed = true;
      return { input };
    }
    const at = seen.get(o.value);
    if (at !== undefined) {
      changed = true;
      return { output: at };
    }
    seen.set(o.value, k);
    return { output: k };
  });
  return changed ? sources : undefined;
}
