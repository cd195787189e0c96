// Hoisting weight transposes out of time loops.
//
// What: inside the body of a top-level scan, `linear(x, W)` (x W^T) with W a
// loop constant becomes `mm(x, Wt)`, where `Wt = transpose(W)` is computed
// once before the scan and passed in as a new constant. A matMul with a
// transpose flag is 5 to 60 times slower than a plain one on the wasm and
// cpu backends (bench/matmul-transpose.ts); one transpose per batch instead
// of a flagged product per step removes that cost from every step.
//
// When: in the optimisation pipeline (pipeline.ts), after autodiff, on the
// forward and the training graph. Pre: a verified graph. Post: a verified
// graph computing the same values (exactly: a transpose moves numbers, it
// does not round them); the same object when no scan has such a `linear`.
// Not handled: scans nested in scan bodies (lowering never makes them).
import { GraphBuilder, rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

export function hoistWeightTransposes(g: Graph): Graph {
  const rewrites = new Map(g.nodes.map((n) => [n, n.op === 'scan' ? transposableConsts(n) : []] as const));
  if ([...rewrites.values()].every((r) => r.length === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const consts = rewrites.get(node)!;
    if (consts.length === 0) return undefined;
    // The transposed weights are new trailing constants of the scan.
    const transposed = consts.map((k) => b.op('transpose', [get(node.inputs[k]!)], {}, src));
    return b.emit('scan', [...node.inputs.map(get), ...transposed], node.attrs, { ...src, body: rewriteBody(node.body!, consts) });
  });
}

/** Indices (into the scan's inputs) of 2-D constants that some `linear` in the body multiplies by. */
function transposableConsts(scan: Node): number[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const constStart = nCarry + nXs;
  const constIndex = new Map(body.inputs.map((inp, k) => [inp.value, k] as const).filter(([, k]) => k >= constStart));
  const found = new Set<number>();
  for (const n of body.nodes) {
    if (n.op !== 'linear') continue;
    const k = constIndex.get(n.inputs[1]!);
    if (k !== undefined) found.add(k);
  }
  return [...found].sort((a, z) => a - z);
}

/** The body with each `linear(x, W_k)` turned into `mm(x, Wt_k)`, Wt_k a new trailing input. */
function rewriteBody(body: Graph, consts: readonly number[]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  body.inputs.forEach((inp) => map.set(inp.value, b.input(body.values[inp.value]!.type, inp.role, inp.name)));
  const transposedOf = new Map<ValueId, ValueId>();
  for (const k of consts) {
    const inp = body.inputs[k]!;
    const t = body.values[inp.value]!.type;
    transposedOf.set(inp.value, b.input({ shape: [t.shape[1]!, t.shape[0]!], dtype: t.dtype }, 'arg', `${inp.name}_T`));
  }
  const get = (v: ValueId): ValueId => map.get(v)!;
  for (const node of body.nodes) {
    const src = node.source !== undefined ? { source: node.source } : {};
    const wt = node.op === 'linear' ? transposedOf.get(node.inputs[1]!) : undefined;
    const outs =
      wt !== undefined
        ? b.emit('mm', [get(node.inputs[0]!), wt], {}, src)
        : b.emit(node.op, node.inputs.map(get), node.attrs, node.body ? { body: node.body, ...src } : src);
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = body.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  body.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  return b.build();
}
