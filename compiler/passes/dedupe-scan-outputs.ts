// Merging loop outputs that stack the same value.
//
// What: autodiff and hoist-weight-gradients give a reverse loop one stacked
// output per use of a step value: the cotangent of an LSTM gate comes out as
// the input-projection gradient, the weight-gradient factor and the bias
// gradient term, and h[t-1] once per gate. Each stacked output is a copy of
// T slabs, and separate copies of one value also hide from later passes that
// the values are equal (transpose-outer-operands shares work only between
// equal operands). Here every per-step output of a scan that repeats an
// earlier one (the same body value) is dropped and its uses read the first.
//
// When: in the training and forward pipelines (pipeline.ts), after
// hoist-weight-gradients and before transpose-outer-operands and
// common-subexpressions. Pre: a verified graph. Post: a verified graph
// computing the same values; the same object when no scan repeats an output.
import { rebuildGraph } from '../ir/builder.js';
import type { Graph, Node } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function dedupeScanOutputs(g: Graph): Graph {
  const plans = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? firstOfEach(n) : undefined] as const));
  if ([...plans.values()].every((p) => p === undefined)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const first = plans.get(node);
    if (first === undefined) return undefined;
    const body = node.body!;
    const kept = body.outputs.filter((_, k) => first[k] === k);
    const outs = b.emit('scan', node.inputs.map(get), node.attrs, { ...src, body: { ...body, outputs: kept } });
    const position = new Map<number, number>();
    body.outputs.forEach((_, k) => first[k] === k && position.set(k, position.size));
    return body.outputs.map((_, k) => outs[position.get(first[k]!)!]!);
  });
}

/** For each body output, the index of the first output stacking the same value (itself when unique); undefined when none repeats. */
function firstOfEach(scan: Node): number[] | undefined {
  const { nCarry } = scanAttrs(scan);
  const seen = new Map<number, number>();
  let repeats = false;
  const first = scan.body!.outputs.map((o, k) => {
    if (k < nCarry) return k; // final carries are never merged
    const at = seen.get(o.value);
    if (at !== undefined) {
      repeats = true;
      return at;
    }
    seen.set(o.value, k);
    return k;
  });
  return repeats ? first : undefined;
}
