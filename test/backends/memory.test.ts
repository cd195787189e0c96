// Memory stays flat: running a training graph again and again inside tf.tidy,
// and training a session batch after batch (full and truncated BPTT), leaves
// the number of live tfjs tensors where it was after a warm-up. A leak of
// one tensor per step shows up as a difference of 30 to 50.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { makeBatches } from '../../runtime/data/batching.js';
import type { Example, FieldSpec } from '../../runtime/data/types.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { Rng } from '../../runtime/rng.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { tokenLm } from '../helpers/programs.js';
import { randomFeeds } from '../helpers/feeds.js';

const TEXT = (bptt: string): string =>
  tokenLm('h = lstm(e) with H', {
    after: `train m {
  optimizer adam(lr = 0.01)
  clip norm 1.0
  bptt ${bptt}
  batch 3
  seed 1
}`,
  });

function toTf(t: Tensor64): tf.Tensor {
  return t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('tfjs memory', () => {
  it('executing a training graph 50 times inside tf.tidy keeps numTensors flat', () => {
    const model = compileModel(TEXT('full'));
    const { training } = trainingGraphs(model, false);
    const feeds = randomFeeds(model, training, { lengths: [4, 2, 3], seed: 3 }).map(toTf);
    const lossIndex = training.outputs.findIndex((o) => o.role === 'loss');
    const step = (): number => tf.tidy(() => executeGraph(training, feeds)[lossIndex]!.dataSync()[0]!);
    step();
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 50; i++) losses.push(step());
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(losses).size).toBe(1);
    // The check can see a leak: keeping one output per step grows the count.
    const kept = Array.from({ length: 5 }, () => tf.tidy(() => executeGraph(training, feeds)[lossIndex]!));
    expect(tf.memory().numTensors).toBe(before + 5);
    tf.dispose([...kept, ...feeds]);
  });

  /** Token sequences of varied lengths whose target is the input shifted by one. */
  function batches(seed: number) {
    const rng = new Rng(seed);
    const V = 5;
    const examples: Example[] = Array.from({ length: 9 }, () => {
      const n = 3 + rng.int(5);
      const ids = Int32Array.from({ length: n + 1 }, () => rng.int(V));
      return { inputs: [{ kind: 'tokens', ids: ids.slice(0, n) }], targets: [{ kind: 'tokens', ids: ids.slice(1) }] };
    });
    const specs: { inputs: FieldSpec[]; targets: FieldSpec[] } = {
      inputs: [{ name: 'x', type: { kind: 'tokens', vocab: V } }],
      targets: [{ name: 'y', type: { kind: 'tokens', vocab: V } }],
    };
    return makeBatches(examples, specs, 3, null);
  }

  for (const bptt of ['full', 'truncated(k1 = 2, k2 = 3)']) {
    it(`TrainingSession.trainBatch 30 times (bptt ${bptt}) keeps numTensors flat`, async () => {
      const text = TEXT(bptt);
      const model = compileModel(text);
      const config = analyzeText(text).trains.get('m')!;
      expect(config.bptt.kind).toBe(bptt === 'full' ? 'full' : 'truncated');
      const session = new TrainingSession(model, config, trainingGraphs(model, config.bptt.kind === 'truncated'));
      session.initParams(config.seed);
      const data = batches(2);
      expect(data.length).toBe(3);
      // Warm-up: the optimizer creates its slots on the first update.
      for (const b of data) await session.trainBatch(b);
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await session.trainBatch(data[i % data.length]!);
        expect(r.nonFinite).toBe(false);
        expect(r.updates).toBeGreaterThan(0);
        losses.push(r.loss);
      }
      expect(tf.memory().numTensors).toBe(before);
      // It trained: the parameters moved, so the same batch gives a lower loss.
      expect(losses[losses.length - 3]!).toBeLessThan(losses[0]!);
      session.dispose();
    });
  }
});
