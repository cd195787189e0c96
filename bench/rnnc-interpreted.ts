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
import { sessionGraphs } from '../src/project.js';
import { loadStdlib } from '../src/stdlib.js';
import type { BenchShape, CellKind } from './config.js';
import { sequenceOf, type BenchData } from './data.js';
import type { BenchImpl } from './measure.js';

export const BENCH_MODEL = 'bench';

/** The benchmark model: one-hot input, one recurrent layer, a softmax output. Dimensions are bound by buildModel. */
export function benchProgram(cell: CellKind, lr = 1e-3): string {
  return `dim X, H, O
model ${BENCH_MODEL} {
  input  x: seq<token[X]>
  target t: seq<token[O]>
  h = ${cell}(one_hot(x)) with H
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
export function compileBenchModel(cell: CellKind, s: BenchShape, lr = 1e-3): CompiledBenchModel {
  const text = benchProgram(cell, lr);
  const a = analyze({ file: 'bench.rnn', text }, loadStdlib());
  const errors = (ds: readonly { severity: string; code: string; message: string }[]) => ds.filter((d) => d.severity === 'error');
  if (errors(a.diagnostics).length > 0) throw new Error(`bench model: ${errors(a.diagnostics).map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const built = buildModel(a, BENCH_MODEL, { X: s.X, H: s.H, O: s.O });
  if (!built.model) throw new Error(`bench model: ${built.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  return { text, model: built.model, train: a.trains.get(BENCH_MODEL)! };
}

export const benchSpecs = (s: BenchShape): { inputs: FieldSpec[]; targets: FieldSpec[] } => ({
  inputs: [{ name: 'x', type: { kind: 'tokens', vocab: s.X } }],
  targets: [{ name: 't', type: { kind: 'tokens', vocab: s.O } }],
});

/** The fixed batch in the runtime's time-major layout, made by the runtime's own makeBatches. */
export function benchBatch(data: BenchData): Batch {
  const s = data.shape;
  const examples: Example[] = Array.from({ length: s.B }, (_, b) => ({
    inputs: [{ kind: 'tokens', ids: sequenceOf(data.xs, s, b) }],
    targets: [{ kind: 'tokens', ids: sequenceOf(data.ts, s, b) }],
  }));
  const batches = makeBatches(examples, benchSpecs(s), s.B, null);
  if (batches.length !== 1 || batches[0]!.steps !== s.T) throw new Error('internal: bench batch has the wrong layout');
  return batches[0]!;
}

function streamBatch(s: BenchShape, id: number): Batch {
  const ex: Example = { inputs: [{ kind: 'tokens', ids: Int32Array.of(id) }], targets: [{ kind: 'tokens', ids: Int32Array.of(0) }] };
  return makeBatches([ex], benchSpecs(s), 1, null)[0]!;
}

export function rnncInterpreted(cell: CellKind, data: BenchData, opts: { lr?: number; seed?: number } = {}): BenchImpl {
  const s = data.shape;
  const { model, train } = compileBenchModel(cell, s, opts.lr);
  const session = new TrainingSession(model, train, sessionGraphs(model, train));
  session.initParams(opts.seed ?? 1);
  const batch = benchBatch(data);
  const stream = Array.from(data.stream, (id) => streamBatch(s, id));
  let states: Map<string, tf.Tensor> | undefined;
  let pos = 0;
  return {
    name: 'rnnc',
    async trainStep() {
      return session.trainBatch(batch).loss;
    },
    async inferStep() {
      const r = session.forward(stream[pos++ % stream.length]!, states);
      r.prediction.dataSync();
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
