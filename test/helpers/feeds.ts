// Random, valid feeds for a model graph: parameters, data, masks and states,
// as float64 tensors for the reference evaluator.
import { concreteShape } from '../../compiler/ir/shape.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { Rng } from '../../runtime/rng.js';
import { size, tensor, type Tensor64 } from '../../runtime/reference/tensor.js';

export interface FeedOptions {
  readonly lengths: readonly number[]; // one per sequence in the batch; T = max
  /** For a model whose target has a length of its own (LoweredModel.targetAxis): its lengths; U = max. */
  readonly targetLengths?: readonly number[];
  readonly seed: number;
  readonly paramScale?: number;
  readonly randomState?: boolean;
  /** [T] gradient gate for truncated graphs (default all ones). */
  readonly gate?: readonly number[];
  /** [T, B] loss weights (default: the mask). */
  readonly weight?: readonly number[];
}

export function randomFeeds(model: LoweredModel, g: Graph, opts: FeedOptions): Tensor64[] {
  const rng = new Rng(opts.seed);
  const B = opts.lengths.length;
  const T = Math.max(...opts.lengths);
  const tl = opts.targetLengths ?? opts.lengths;
  const U = Math.max(...tl);
  const bind: Record<string, number> = { B, T, U };
  const targetMask: number[] = [];
  for (let t = 0; t < U; t++) for (let b = 0; b < B; b++) targetMask.push(t < tl[b]! ? 1 : 0);
  for (const [k, v] of model.dims) if (typeof v === 'number') bind[k] = v;
  const mask: number[] = [];
  const last: number[] = [];
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      mask.push(t < opts.lengths[b]! ? 1 : 0);
      last.push(t === opts.lengths[b]! - 1 ? 1 : 0);
    }
  const ios = new Map([...model.inputs, ...model.targets].map((s) => [s.name, s]));
  return g.inputs.map((inp) => {
    const type = g.values[inp.value]!.type;
    const shape = concreteShape(type.shape, bind);
    const n = size(shape);
    if (inp.role === 'param') return tensor(shape, Array.from({ length: n }, () => rng.normal() * (opts.paramScale ?? 0.5)));
    if (inp.role === 'state') return tensor(shape, Array.from({ length: n }, () => (opts.randomState ? rng.normal() * 0.5 : 0)));
    if (inp.role === 'control') return tensor(shape, opts.gate ?? new Array(n).fill(1));
    if (inp.name === 'mask') return tensor(shape, mask);
    if (inp.name === 'target_mask') return tensor(shape, targetMask);
    if (inp.name === 'weight') return tensor(shape, opts.weight ?? (model.targetAxis !== undefined ? targetMask : mask));
    if (inp.name === 'last') return tensor(shape, last);
    // A decoder's scheduled-sampling coins (1: the true token) and the draws of sampled tokens.
    if (inp.name === 'feed_coin') return tensor(shape, Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)));
    if (inp.name === 'feed_draws') return tensor(shape, Array.from({ length: n }, () => rng.next()));
    // A dropout call's uniform draws (training lowerings).
    if (inp.name.startsWith('dropout:')) return tensor(shape, Array.from({ length: n }, () => rng.next()));
    const io = ios.get(inp.name)!;
    if (io.type.kind === 'tokens' || io.type.kind === 'token') {
      const v = io.type.vocab as number;
      return tensor(shape, Array.from({ length: n }, () => rng.int(v)), 'i32');
    }
    return tensor(shape, Array.from({ length: n }, () => rng.normal()));
  });
}
