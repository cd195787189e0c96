// The pieces of data-parallel training that run in one thread: cutting a
// batch into per-worker slices, restoring a cloned slice's layout, and the
// session's exchange path (with one replica the average is the replica's own
// gradient, so training must match the plain session exactly). Several
// replicas in worker threads: test/e2e/cli-workers.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { adoptBatch, makeBatches, shardBatch, sliceBatchTime, type BatchSpecs } from '../../runtime/data/batching.js';
import type { Batch, Example, FieldSpec } from '../../runtime/data/types.js';
import { Rng } from '../../runtime/rng.js';
import { resolveShape } from '../../runtime/shape-binding.js';
import { numericDims } from '../../runtime/train/feeds.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { createSharedGradients, ExchangeAborted, SharedGradientExchange } from '../../runtime/train/shared-gradients.js';
import { Worker } from 'node:worker_threads';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { tokenLm } from '../helpers/programs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A token sequence, a vector sequence [2], a label and a per-example [L, 2] matrix with L = 3.
const specs: BatchSpecs = {
  inputs: [
    { name: 'ids', type: { kind: 'tokens', vocab: 1000 } },
    { name: 'feats', type: { kind: 'vectors', dims: [2] } },
  ],
  targets: [
    { name: 'label', type: { kind: 'token', vocab: 7 } },
    { name: 'grid', type: { kind: 'vector', dims: [3, 2] } },
  ],
};

function examples(lens: readonly number[]): Example[] {
  return lens.map((len, i) => ({
    inputs: [
      { kind: 'tokens', ids: Int32Array.from({ length: len }, (_, t) => i * 10 + t + 1) },
      { kind: 'vectors', steps: len, data: Float32Array.from({ length: len * 2 }, (_, k) => i * 100 + k) },
    ],
    targets: [
      { kind: 'token', id: i % 7 },
      { kind: 'vector', data: Float32Array.from({ length: 6 }, (_, k) => i + k / 10) },
    ],
  }));
}

/** Element (t, b, k) of a time-major tensor, or (b, k) of a per-example one. */
function at(t: { shape: number[]; data: ArrayLike<number> }, idx: number[]): number {
  let flat = 0;
  t.shape.forEach((d, i) => (flat = flat * d + (idx[i] ?? 0)));
  return t.data[flat]!;
}

describe('shardBatch', () => {
  const lens = [4, 2, 5, 1, 3];
  const batch = makeBatches(examples(lens), specs, 5, null)[0]!;

  it('cuts a batch into consecutive examples, sizes differing by at most one, keeping T', () => {
    const parts = shardBatch(batch, specs, 3);
    expect(parts.map((p) => p.batchSize)).toEqual([2, 2, 1]);
    let b0 = 0;
    for (const p of parts) {
      expect(p.steps).toBe(batch.steps);
      for (let b = 0; b < p.batchSize; b++) {
        expect(p.lengths[b]).toBe(batch.lengths[b0 + b]);
        expect(at(p.targets[0]!, [b])).toBe(at(batch.targets[0]!, [b0 + b]));
        for (let k = 0; k < 6; k++) expect(at(p.targets[1]!, [b, Math.floor(k / 2), k % 2])).toBe(at(batch.targets[1]!, [b0 + b, Math.floor(k / 2), k % 2]));
        for (let t = 0; t < batch.steps; t++) {
          expect(at(p.inputs[0]!, [t, b])).toBe(at(batch.inputs[0]!, [t, b0 + b]));
          for (let k = 0; k < 2; k++) expect(at(p.inputs[1]!, [t, b, k])).toBe(at(batch.inputs[1]!, [t, b0 + b, k]));
          expect(at(p.mask, [t, b])).toBe(at(batch.mask, [t, b0 + b]));
          expect(at(p.last, [t, b])).toBe(at(batch.last, [t, b0 + b]));
        }
      }
      b0 += p.batchSize;
    }
    expect(b0).toBe(5);
  });

  it('gives empty slices when there are more workers than examples', () => {
    const parts = shardBatch(batch, specs, 7);
    expect(parts.map((p) => p.batchSize)).toEqual([1, 1, 1, 1, 1, 0, 0]);
    expect(parts[6]!.mask.shape).toEqual([batch.steps, 0]);
    expect(parts[6]!.inputs[1]!.shape).toEqual([batch.steps, 0, 2]);
    expect(parts[6]!.targets[1]!.shape).toEqual([0, 3, 2]);
  });

  it('a slice that crossed a thread boundary is cut into windows by its specs, not by guessing', () => {
    // T = B = L = 3: a cloned [3, 3, 2] tensor could be [T, B, D] or [B, L, D].
    const three = makeBatches(examples([3, 3, 3, 3, 3, 3]), specs, 6, null)[0]!;
    const slice = shardBatch(three, specs, 2)[0]!;
    expect(slice.batchSize).toBe(3);
    const cloned = structuredClone(slice) as Batch;
    expect(() => sliceBatchTime(cloned, 0, 2)).toThrow(/cannot tell/);
    const w = sliceBatchTime(adoptBatch(cloned, specs), 0, 2);
    expect(w.inputs[1]!.shape).toEqual([2, 3, 2]);
    expect(w.targets[1]!.shape).toEqual([3, 3, 2]);
  });
});

describe('TrainingSession with a gradient exchange', () => {
  function lmBatches(): Batch[] {
    const rng = new Rng(4);
    const exs: Example[] = Array.from({ length: 10 }, () => {
      const n = 2 + rng.int(7);
      const ids = Int32Array.from({ length: n + 1 }, () => rng.int(5));
      return { inputs: [{ kind: 'tokens', ids: ids.slice(0, n) }], targets: [{ kind: 'tokens', ids: ids.slice(1) }] };
    });
    const lmSpecs: { inputs: FieldSpec[]; targets: FieldSpec[] } = {
      inputs: [{ name: 'x', type: { kind: 'tokens', vocab: 5 } }],
      targets: [{ name: 'y', type: { kind: 'tokens', vocab: 5 } }],
    };
    return makeBatches(exs, lmSpecs, 4, new Rng(1));
  }

  for (const bptt of ['full', 'truncated(k1 = 3, k2 = 2)', 'truncated(k1 = 2, k2 = 4)']) {
    it(`one replica trains exactly as the plain session (bptt ${bptt}, clipping)`, async () => {
      const text = tokenLm('h = gru(e) with H', { after: `train m { optimizer adam(lr = 0.05); bptt ${bptt}; clip norm 0.5; seed 3 }` });
      const model = compileModel(text);
      const config = analyzeText(text).trains.get('m')!;
      const graphs = trainingGraphs(model, config.bptt.kind === 'truncated', { liftParamTransposes: true });
      const bind = numericDims(model);
      const layout = model.params.map((p) => ({ name: p.name, shape: resolveShape(p.shape, bind) }));
      const plain = new TrainingSession(model, config, graphs);
      const replica = new TrainingSession(model, config, graphs, new SharedGradientExchange(createSharedGradients(layout, 1), layout, 0));
      plain.initParams(3);
      replica.restoreSnapshot(await plain.snapshot(), 'the plain session');
      try {
        for (const batch of [...lmBatches(), ...lmBatches()]) {
          expect(await replica.trainBatch(batch)).toEqual(await plain.trainBatch(batch));
        }
        expect(replica.step).toBe(plain.step);
        expect(replica.step).toBeGreaterThanOrEqual(6);
        expect(await replica.snapshot()).toEqual(await plain.snapshot());
      } finally {
        plain.dispose();
        replica.dispose();
      }
    });
  }
});

describe('SharedGradientExchange', () => {
  it('a replica waiting for one that never comes is woken by an abort, not left hanging', async () => {
    const layout = [{ name: 'w', shape: [3] }];
    const shared = createSharedGradients(layout, 2);
    // What the coordinator does when a worker fails (abortExchange), from another thread after 300 ms.
    const aborter = new Worker(
      `const { workerData } = require('node:worker_threads');
       const h = new Int32Array(workerData, 0, 4);
       setTimeout(() => { Atomics.store(h, 2, 1); Atomics.notify(h, 1); }, 300);`,
      { eval: true, workerData: shared },
    );
    const exchange = new SharedGradientExchange(shared, layout, 0);
    const grads = new Map([['w', tf.tensor1d([1, 2, 3])]]);
    const t0 = Date.now();
    expect(() => exchange.reduce({ grads, loss: 1, count: 2 })).toThrow(ExchangeAborted);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    grads.forEach((t) => t.dispose());
    await aborter.terminate();
  });
});
