// Loss and gradients of a batch on the float64 reference evaluator, with the
// parameters held fixed: the oracle behind `rnnc grad --reference`. Walks
// the same truncated-BPTT windows as the tfjs session.
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { BpttSpec } from '../../compiler/sema/train.js';
import type { Batch } from '../data/types.js';
import { lossCount, planFeeds, type FeedOptions } from '../train/feeds.js';
import { runWindows } from '../train/window-runner.js';
import { evaluateGraph } from './evaluate.js';
import { zeros, type Tensor64 } from './tensor.js';

type States = Map<string, Tensor64>;

export interface ReferenceGradients {
  readonly loss: number;
  readonly grads: Map<string, Tensor64>;
}

export async function referenceGradients(
  model: LoweredModel,
  graphs: { forward: Graph; training: Graph },
  params: ReadonlyMap<string, Tensor64>,
  batch: Batch,
  bptt: BpttSpec,
): Promise<ReferenceGradients[]> {
  const feeds = (g: Graph, part: Batch, states: States | undefined, opts: FeedOptions): Tensor64[] =>
    planFeeds(g, model, part, opts).map((f) => {
      if (f.kind === 'param') return params.get(f.name)!;
      if (f.kind === 'derived') throw new Error(`internal: the reference runs graphs without derived inputs (${f.name})`);
      if (f.kind === 'state') return states?.get(f.name) ?? zeros(f.shape);
      return { shape: f.tensor.shape, data: Float64Array.from(f.tensor.data), dtype: f.tensor.dtype === 'int32' ? 'i32' : 'f32' };
    });
  const run = (part: Batch, states: States | undefined, opts: FeedOptions): { result: ReferenceGradients; states: States } => {
    const g = graphs.training;
    const outs = evaluateGraph(g, feeds(g, part, states, opts));
    const grads = new Map<string, Tensor64>();
    const next: States = new Map();
    let loss = NaN;
    g.outputs.forEach((o, i) => {
      if (o.role === 'grad') grads.set(o.name.slice(2), outs[i]!);
      else if (o.role === 'state') next.set(o.name, outs[i]!);
      else if (o.role === 'loss') loss = outs[i]!.data[0]!;
    });
    return { result: { loss, grads }, states: next };
  };
  if (bptt.kind === 'full') return [run(batch, undefined, {}).result];
  return (await runWindows<States, ReferenceGradients>(batch, bptt.k1, bptt.k2, {
    advance: (part, states) => {
      const g = graphs.forward;
      const outs = evaluateGraph(g, feeds(g, part, states, {}));
      return new Map(g.outputs.map((o, i) => [o, outs[i]!] as const).filter(([o]) => o.role === 'state').map(([o, t]) => [o.name, t]));
    },
    window: (part, states, gate, lossFrom) => run(part, states, { gate, lossFrom }),
    count: (part, lossFrom) => lossCount(model, part, lossFrom),
    release: () => undefined,
  })).results;
}
