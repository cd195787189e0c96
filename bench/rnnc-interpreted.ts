// rnnc, interpreted: the benchmark model written in the language, compiled
// to IR, differentiated symbolically and run by runtime/tfjs through a
// TrainingSession (Adam, full BPTT, no clipping), exactly as `rnnc run`
// trains. Streaming inference is session.forward on a one-step, batch-1
// batch with the states carried, as `rnnc sample` does it.
import * as tf from '@tensorflow/tfjs-core';
import { analyze, buildModel } from '../compiler/compile.js';
import type { LoweredModel } from '../compiler/sema/model.js';
import type { TrainConfig } from '../compiler/sema/train.js';
import { makeBatches } from '../runtime/data/batching.js';
import type { Batch, Example, FieldSpec } from '../runtime/data/types.js';
import { TrainingSession } from '../runtime/train/session.js';
import { graphsForBackend } from '../src/new-session.js';
import { loadStdlib } from '../src/stdlib.js';
import type { BenchShape, CellKind, InputKind } from './config.js';
import { sequenceOf, type BenchData } from './data.js';
import { graphProductFlops } from './flops.js';
import type { BenchImpl } from './measure.js';

export const BENCH_MODEL = 'bench';

/** The benchmark model: token (one-hot) or dense input, one recurrent layer, a softmax output. Dimensions are bound by buildModel. */
export function benchProgram(cell: CellKind, lr = 1e-3, input: InputKind = 'tokens'): string {
  return `dim X, H, O
model ${BENCH_MODEL} {
  input  x: ${input === 'tokens' ? 'seq<token[X]>' : 'seq<[X]>'}
  target t: seq<token[O]>
  h = ${cell}(${input === 'tokens' ? 'one_hot(x)' : 'x'}) with H
  y = dense(h, O)
  loss = cross_entropy(y, t)
}
train ${BENCH_MODEL} {
  optimizer adam(lr = ${lr})
  bptt full
  seed 1
}
`;
}

export interface CompiledBenchModel {
  readonly text: string;
  readonly model: LoweredModel;
  readonly train: TrainConfig;
}

/** Checks and lowers the benchmark model with X, H, O bound; throws with the diagnostics if anything is wrong. */
export function compileBenchModel(cell: CellKind, s: BenchShape, lr = 1e-3, input: InputKind = 'tokens'): CompiledBenchModel {
  const text = benchProgram(cell, lr, input);
  const a = analyze({ file: 'bench.rnn', text }, loadStdlib());
  const errors = (ds: readonly { severity: string; code: string; message: string }[]) => ds.filter((d) => d.severity === 'error');
  if (errors(a.diagnostics).length > 0) throw new Error(`bench model: ${errors(a.diagnostics).map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const built = buildModel(a, BENCH_MODEL, { X: s.X, H: s.H, O: s.O });
  if (!built.model) throw new Error(`bench model: ${built.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return { text, model: built.model, train: a.trains.get(BENCH_MODEL)! };
}

export const benchSpecs = (s: BenchShape, input: InputKind = 'tokens'): { inputs: FieldSpec[]; targets: FieldSpec[] } => ({
  inputs: [{ name: 'x', type: input === 'tokens' ? { kind: 'tokens', vocab: s.X } : { kind: 'vectors', dims: [s.X] } }],
  targets: [{ name: 't', type: { kind: 'tokens', vocab: s.O } }],
});

/** The fixed batch in the runtime's time-major layout, made by the runtime's own makeBatches. */
export function benchBatch(data: BenchData, input: InputKind = 'tokens'): Batch {
  const s = data.shape;
  const features = (b: number): Float32Array => {
    const out = new Float32Array(s.T * s.X);
    for (let t = 0; t < s.T; t++) out.set(data.feats.subarray((t * s.B + b) * s.X, (t * s.B + b + 1) * s.X), t * s.X);
    return out;
  };
  const examples: Example[] = Array.from({ length: s.B }, (_, b) => ({
    inputs: [input === 'tokens' ? { kind: 'tokens', ids: sequenceOf(data.xs, s, b) } : { kind: 'vectors', data: features(b), steps: s.T }],
    targets: [{ kind: 'tokens', ids: sequenceOf(data.ts, s, b) }],
  }));
  const batches = makeBatches(examples, benchSpecs(s, input), s.B, null);
  if (batches.length !== 1 || batches[0]!.steps !== s.T) throw new Error('internal: bench batch has the wrong layout');
  return batches[0]!;
}

function streamBatch(s: BenchShape, data: BenchData, k: number, input: InputKind): Batch {
  const x: Example['inputs'][number] = input === 'tokens' ? { kind: 'tokens', ids: Int32Array.of(data.stream[k]!) } : { kind: 'vectors', data: data.streamFeats.slice(k * s.X, (k + 1) * s.X), steps: 1 };
  const ex: Example = { inputs: [x], targets: [{ kind: 'tokens', ids: Int32Array.of(0) }] };
  return makeBatches([ex], benchSpecs(s, input), 1, null)[0]!;
}

/** rnnc's initial parameters (seeded, as `rnnc run` makes them): the other columns start from copies of these. */
export type InitialParams = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

export async function rnncInitialParams(cell: CellKind, s: BenchShape, input: InputKind, seed = 1): Promise<InitialParams> {
  const { model, train } = compileBenchModel(cell, s, 1e-3, input);
  const session = new TrainingSession(model, train, graphsForBackend(model, train));
  session.initParams(seed);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, v] of session.params) out.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  session.dispose();
  return out;
}

/** FLOPs of the matrix products in the training graph the session runs on the bench batch (no padding: the unpadded variant). */
export function rnncTrainingFlops(cell: CellKind, s: BenchShape, input: InputKind): number {
  const { model, train } = compileBenchModel(cell, s, 1e-3, input);
  const graphs = graphsForBackend(model, train);
  return graphProductFlops((graphs.unpadded ?? graphs).training, { B: s.B, T: s.T, X: s.X, H: s.H, O: s.O });
}

export function rnncInterpreted(cell: CellKind, data: BenchData, opts: { lr?: number; seed?: number; input?: InputKind } = {}): BenchImpl {
  const s = data.shape;
  const input = opts.input ?? 'tokens';
  const { model, train } = compileBenchModel(cell, s, opts.lr, input);
  const session = new TrainingSession(model, train, graphsForBackend(model, train));
  session.initParams(opts.seed ?? 1);
  const batch = benchBatch(data, input);
  const stream = Array.from(data.stream, (_, k) => streamBatch(s, data, k, input));
  let states: Map<string, tf.Tensor> | undefined;
  let pos = 0;
  return {
    name: 'rnnc',
    async trainStep() {
      return (await session.trainBatch(batch)).loss;
    },
    async inferStep() {
      const r = session.forward(stream[pos++ % stream.length]!, states);
      await r.prediction.data();
      r.prediction.dispose();
      states?.forEach((t) => t.dispose());
      states = r.states;
    },
    dispose() {
      states?.forEach((t) => t.dispose());
      session.dispose();
    },
  };
}
