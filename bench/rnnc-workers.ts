// rnnc, data-parallel: `rnnc run --workers N` as the benchmark drives it.
// The interpreted session's model and initial parameters, replicated into N
// worker threads (src/parallel), each with its own backend and a slice of
// the batch; gradients averaged in shared memory before each Adam update.
// Streaming inference and peak memory are not measured here (inference does
// not use the workers; their tensors live in other threads).
import * as tf from '@tensorflow/tfjs-core';
import { TrainingSession } from '../runtime/train/session.js';
import { sessionGraphs } from '../src/project.js';
import { DataParallelTrainer } from '../src/parallel/trainer.js';
import { benchBatch, benchSpecs, compileBenchModel } from './rnnc-interpreted.js';
import type { CellKind, InputKind } from './config.js';
import type { BenchData } from './data.js';
import type { BenchImpl } from './measure.js';

export const WORKERS_NA = 'needs at least 2 workers';

export async function rnncWorkers(cell: CellKind, data: BenchData, workers: number, opts: { lr?: number; seed?: number; input?: InputKind } = {}): Promise<BenchImpl> {
  const s = data.shape;
  const input = opts.input ?? 'tokens';
  const { model, train } = compileBenchModel(cell, s, opts.lr, input);
  const session = new TrainingSession(model, train, sessionGraphs(model, train));
  session.initParams(opts.seed ?? 1);
  const start = await session.snapshot();
  session.dispose();
  const trainer = await DataParallelTrainer.start({ workers, backend: tf.getBackend(), model, config: train, remat: false, specs: benchSpecs(s, input), start });
  const batch = benchBatch(data, input);
  return {
    name: 'rnnc-workers',
    memoryVisible: false,
    async trainStep() {
      return (await trainer.trainBatch(batch)).loss;
    },
    async dispose() {
      await trainer.close();
    },
  };
}
