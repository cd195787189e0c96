// Sinking output projections into the loop: `linear(Y, W)` of a loop's
// stacked per-step output Y (a dense layer over h) becomes a product per
// step inside the loop, which outputs its result instead. A streaming step
// (one step at batch 1) then skips stacking h, flattening it for the product
// and shaping the product back: three of its kernels.
//
// When: first on the graph that sampling and streaming run (predict;
// pipeline.ts PREDICT_PIPELINE), so that the weight transpose it moves into
// the loop is hoisted out again by hoist-weight-transposes. The inverse of
// what hoist-input-projections does for training, where one large product
// over all steps is what pays.
//
// Pre: a verified graph. Post: a verified graph computing the same values;
// the same object when no loop output is projected. Not handled: projections
// of values combined from several loops (a bidirectional layer's concat).
import { GraphBuilder, rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

/** A top-level projection of a scan's per-step output: which ys (index among the body outputs) by which weight. */
interface Sink {
  readonly projection: Node;
  readonly ysOutput: number;
  readonly weight: ValueId;
}

export function sinkOutputProjections(g: Graph): Graph {
  const producer = new Map<ValueId, { node: Node; index: number }>();
  g.nodes.forEach((n) => n.outputs.forEach((o, k) => producer.set(o, { node: n, index: k })));
  const defined = new Map<ValueId, number>(g.inputs.map((i) => [i.value, -1] as const));
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => defined.set(o, i)));
  const sinks = new Map<Node, Sink[]>();
  for (const n of g.nodes) {
    if (n.op !== 'linear') continue;
    const p = producer.get(n.inputs[0]!);
    if (!p || p.node.op !== 'scan' || p.index < scanAttrs(p.node).nCarry) continue;
    // The weight must exist before the loop runs.
    if (defined.get(n.inputs[1]!)! >= g.nodes.indexOf(p.node)) continue;
    sinks.set(p.node, [...(sinks.get(p.node) ?? []), { projection: n, ysOutput: p.index, weight: n.inputs[1]! }]);
  }
  if (sinks.size === 0) return g;
  const replaced = new Map<Node, { scan: Node; k: number }>();
  sinks.forEach((list, scan) => list.forEach((s, k) => replaced.set(s.projection, { scan, k })));
  const newOutputs = new Map<Node, ValueId[]>();
  return rebuildGraph(g, (node, { b, get, src }) => {
    const r = replaced.get(node);
    if (r) return [newOutputs.get(r.scan)![r.k]!];
    const list = sinks.get(node);
    if (!list) return undefined;
    const nOut = node.body!.outputs.length;
    const outs = b.emit('scan', [...node.inputs.map(get), ...list.map((s) => get(s.weight))], node.attrs, {
      ...src,
      body: withProjections(g, node.body!, list),
    });
    newOutputs.set(node, outs.slice(nOut));
    return outs.slice(0, nOut);
  });
}

/** The body with each sunk projection computed per step from a new constant, as a new per-step output. */
function withProjections(g: Graph, body: Graph, list: readonly Sink[]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  body.inputs.forEach((inp) => map.set(inp.value, b.input(body.values[inp.value]!.type, inp.role, inp.name)));
  const weights = list.map((s, k) => b.input(g.values[s.weight]!.type, 'arg', g.values[s.weight]!.name ?? `out_W${k}`));
  for (const node of body.nodes) {
    const src = node.source !== undefined ? { source: node.source } : {};
    const outs = b.emit(node.op, node.inputs.map((v) => map.get(v)!), node.attrs, node.body ? { ...src, body: node.body } : src);
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = body.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  body.outputs.forEach((o) => b.output(map.get(o.value)!, o.role, o.name));
  list.forEach((s, k) => {
    const y = body.outputs[s.ysOutput]!;
    const src = s.projection.source !== undefined ? { source: s.projection.source } : {};
    b.output(b.op('linear', [map.get(y.value)!, weights[k]!], {}, src), 'result', `${y.name}_projected`);
  });
  return b.build();
}
