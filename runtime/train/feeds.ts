// What to feed each input of a graph for a batch, independent of where it
// runs: the tfjs session and the float64 reference both turn this plan into
// their own tensors. Data inputs come from the batch (time-major), `weight`
// and `last` are the mask and last-step marks restricted to the loss
// positions of a truncated-BPTT window, `gate` is the window's gradient gate.
import { resolveShape } from '../shape-binding.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { IoSpec, LoweredModel } from '../../compiler/sema/model.js';
import { RuntimeUserError } from '../io.js';
import type { Batch, HostTensor } from '../data/types.js';

export type Feed =
  | { readonly kind: 'param'; readonly name: string }
  /** A value computed from a parameter (`transpose:<param>`), kept while the parameter is unchanged. */
  | { readonly kind: 'derived'; readonly name: string }
  | { readonly kind: 'state'; readonly name: string; readonly shape: readonly number[] }
  | { readonly kind: 'host'; readonly tensor: HostTensor };

export interface FeedOptions {
  readonly gate?: Float32Array;
  /** [T, B] scheduled-sampling coins (1: a decoder reads the true token) and uniform draws for sampled tokens. */
  readonly coin?: Float32Array;
  readonly draws?: Float32Array;
  /** Positions before this step do not count in the loss. */
  readonly lossFrom?: number;
  /** Uniform draws in [0, 1) for a `dropout:<instance>` input of this many values (training graphs only). */
  readonly dropout?: (name: string, size: number) => Float32Array;
}

export function numericDims(model: LoweredModel): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const [k, v] of model.dims) if (typeof v === 'number') out[k] = v;
  return out;
}

/** Per model, what planFeeds reads of it (made once: a streaming step plans its feeds every call). */
const modelFacts = new WeakMap<LoweredModel, { dims: Record<string, number>; inputIndex: Map<string, number>; targetIndex: Map<string, number> }>();

function factsOf(model: LoweredModel) {
  let facts = modelFacts.get(model);
  if (!facts) {
    facts = {
      dims: numericDims(model),
      inputIndex: new Map(model.inputs.map((s, i) => [s.name, i])),
      targetIndex: new Map(model.targets.map((s, i) => [s.name, i])),
    };
    modelFacts.set(model, facts);
  }
  return facts;
}

export function planFeeds(g: Graph, model: LoweredModel, batch: Batch, opts: FeedOptions = {}): Feed[] {
  const T = batch.steps;
  const B = batch.batchSize;
  const { dims, inputIndex, targetIndex } = factsOf(model);
  // U: the steps of targets that have a length of their own (a decoder writing its target).
  const U = batch.target?.steps;
  const bind = { ...dims, B, T, ...(U !== undefined ? { U } : {}) };
  const targetMask = (): HostTensor => {
    if (!batch.target) throw new Error(`internal: model ${model.name} needs its targets' own steps, but the batch has none`);
    return batch.target.mask;
  };
  const lossFrom = opts.lossFrom ?? 0;
  const restrict = (t: HostTensor): HostTensor => {
    if (lossFrom <= 0) return t;
    const data = Float32Array.from(t.data);
    data.fill(0, 0, Math.min(lossFrom, T) * B);
    return { dtype: 'float32', shape: t.shape, data };
  };
  return g.inputs.map((inp): Feed => {
    switch (inp.role) {
      case 'param':
        return { kind: 'param', name: inp.name };
      case 'derived':
        return { kind: 'derived', name: inp.name };
      case 'state':
        return { kind: 'state', name: inp.name, shape: resolveShape(g.values[inp.value]!.type.shape, bind) };
      case 'control':
        return { kind: 'host', tensor: { dtype: 'float32', shape: [T], data: opts.gate ?? new Float32Array(T).fill(1) } };
      default: {
        if (inp.name === 'mask') return { kind: 'host', tensor: batch.mask };
        if (inp.name === 'target_mask') return { kind: 'host', tensor: targetMask() };
        // The loss positions: over the targets' own steps when they have them (never truncated: such models read ahead).
        if (inp.name === 'weight') return { kind: 'host', tensor: model.targetAxis !== undefined ? targetMask() : restrict(batch.mask) };
        if (inp.name === 'last') return { kind: 'host', tensor: restrict(batch.last) };
        if (inp.name === 'feed_coin' || inp.name === 'feed_draws') {
          const data = inp.name === 'feed_coin' ? opts.coin : opts.draws;
          const steps = resolveShape(g.values[inp.value]!.type.shape, bind)[0]!;
          if (!data || data.length !== steps * B) throw new Error(`internal: no ${inp.name} for a batch of ${steps} x ${B}`);
          return { kind: 'host', tensor: { dtype: 'float32', shape: [steps, B], data } };
        }
        if (inp.name.startsWith('dropout:')) {
          const shape = resolveShape(g.values[inp.value]!.type.shape, bind);
          const size = shape.reduce((a, b) => a * b, 1);
          if (!opts.dropout) throw new Error(`internal: no draws for ${inp.name}`);
          return { kind: 'host', tensor: { dtype: 'float32', shape, data: opts.dropout(inp.name, size) } };
        }
        const i = inputIndex.get(inp.name);
        if (i !== undefined) return { kind: 'host', tensor: checkedIds(model.inputs[i]!, 'inputs', batch.inputs[i]!, B) };
        const k = targetIndex.get(inp.name);
        if (k !== undefined) return { kind: 'host', tensor: checkedIds(model.targets[k]!, 'targets', batch.targets[k]!, B) };
        throw new Error(`internal: no feed for graph input ${inp.name}`);
      }
    }
  });
}

/** Token tensors already checked (a batch is fed once per truncated-BPTT window, a data set's batches every epoch). */
const checkedTensors = new WeakSet<HostTensor>();

/**
 * A token field's ids, checked against its vocabulary before any backend or
 * the reference reads them: on every path an id outside [0, V) is this
 * error, naming the field and the position (emitted modules check their
 * inputs with the same words: compiler/codegen/module.ts, checkField).
 * Host lookups would read zeros, tfjs's wasm gather garbage, its cpu gather
 * and the reference throw messages about tables.
 */
function checkedIds(spec: IoSpec, what: 'inputs' | 'targets', t: HostTensor, B: number): HostTensor {
  if ((spec.type.kind !== 'tokens' && spec.type.kind !== 'token') || checkedTensors.has(t)) return t;
  const vocab = spec.type.vocab;
  if (typeof vocab === 'number') {
    const seq = spec.type.kind === 'tokens';
    for (let i = 0; i < t.data.length; i++) {
      const id = t.data[i]!;
      if (!(id >= 0 && id < vocab)) {
        // Sequences are time-major [T, B] here; the position is given as people index a batch.
        const where = seq ? `example ${i % B}, step ${Math.floor(i / B)}` : `example ${i}`;
        throw new RuntimeUserError(`${what}.${spec.name}: token id ${id} (${where}) is outside [0, ${vocab})`);
      }
    }
  }
  checkedTensors.add(t);
  return t;
}

/** How many positions (or sequences, for per-example losses) count in the loss of a batch from step lossFrom on. */
export function lossCount(model: LoweredModel, batch: Batch, lossFrom = 0): number {
  const src = model.lossPer === 'example' ? batch.last : model.targetAxis !== undefined && batch.target ? batch.target.mask : batch.mask;
  let n = 0;
  for (let i = Math.min(lossFrom, batch.steps) * batch.batchSize; i < src.data.length; i++) n += src.data[i]!;
  return n;
}
