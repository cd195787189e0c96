// The benchmark harness at a tiny size on cpu: every column runs one step and
// gives a finite loss, and the hand-written backward of the "best
// hand-written" column equals tf.grads of the same forward. No timing is
// asserted, ever: these machines are shared.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELLS, SIZES, trainingFlops, type CellKind } from '../../bench/config.js';
import { makeBenchData } from '../../bench/data.js';
import { handGradients, handInitValues, handLoss } from '../../bench/hand-fused.js';
import { matMulCeiling, runRow } from '../../bench/harness.js';
import { microCases, runMicro } from '../../bench/matmul-transpose.js';
import { checkSameEngine } from '../../bench/tf-layers.js';
import { Rng } from '../../runtime/rng.js';
import { startBackend } from '../../src/backend-choice.js';

const TINY = SIZES['TINY']!;

beforeAll(async () => {
  await startBackend('cpu');
});

function oneHots(rng: Rng, T: number, B: number, depth: number): tf.Tensor2D[] {
  return Array.from({ length: T }, () => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: B }, () => rng.int(depth)), 'int32'), depth), 'float32') as tf.Tensor2D);
}

describe('hand-fused backward', () => {
  it.each(CELLS)('%s: gradients equal tf.grads of the same forward', (cell: CellKind) => {
    const rng = new Rng(7);
    const names: string[] = [];
    const values: tf.Tensor[] = [];
    for (const [name, v] of handInitValues(cell, TINY, 3)) {
      // Non-zero biases too, so that every gradient path is exercised.
      const data = v.data.map((x) => x + rng.uniform(-0.3, 0.3));
      names.push(name);
      values.push(tf.tensor(data, v.shape));
    }
    const xs = oneHots(rng, TINY.T, TINY.B, TINY.X);
    const ys = oneHots(rng, TINY.T, TINY.B, TINY.O);
    const params = (ts: readonly tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
    const manual = tf.tidy(() => handGradients(cell, params(values), xs, ys));
    const reference = tf.grads((...ts: tf.Tensor[]) => handLoss(cell, params(ts), xs, ys))(values);
    const refLoss = handLoss(cell, params(values), xs, ys);
    expect(manual.loss.dataSync()[0]).toBeCloseTo(refLoss.dataSync()[0]!, 5);
    expect(Object.keys(manual.grads).sort()).toEqual([...names].sort());
    names.forEach((name, i) => {
      const got = manual.grads[name]!;
      const want = reference[i]!;
      expect(got.shape, name).toEqual(want.shape);
      const scale = Math.max(1e-3, tf.max(tf.abs(want)).dataSync()[0]!);
      const err = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
      expect(err / scale, `${cell} d${name}`).toBeLessThan(1e-4);
    });
    tf.dispose([manual.loss, ...Object.values(manual.grads), ...reference, refLoss, ...values, ...xs, ...ys]);
  });
});

describe('benchmark harness at a tiny size', () => {
  it('tf.layers runs on the same tfjs-core engine and backend as rnnc', () => {
    expect(checkSameEngine()).toBe('cpu');
  });

  it.each(CELLS)('%s: tf.layers, hand-fused and rnnc each train a step with a finite loss and release their tensors', async (cell: CellKind) => {
    const before = tf.memory().numTensors;
    const row = await runRow(cell, 'TINY', TINY, { iters: 1, warmup: 1, inferIters: 1, impls: ['tf.layers', 'hand-fused', 'rnnc'], memory: true, workers: 2, log: () => {} });
    expect(row.trainingFlops).toBe(trainingFlops(cell, TINY));
    expect(row.results.map((r) => r.impl)).toEqual(['tf.layers', 'hand-fused', 'rnnc']);
    for (const r of row.results) {
      expect(r.available, `${r.impl}: ${r.note ?? ''}`).toBe(true);
      expect(Number.isFinite(r.firstLoss), r.impl).toBe(true);
      expect(Number.isFinite(r.lastLoss), r.impl).toBe(true);
      // Untrained, every model predicts about uniformly over O classes.
      expect(Math.abs(r.firstLoss! - Math.log(TINY.O)), r.impl).toBeLessThan(1);
      expect(r.trainMs).toBeGreaterThan(0);
      expect(r.inferMs).toBeGreaterThanOrEqual(0);
      expect(r.peakBytes).toBeGreaterThan(0);
    }
    expect(row.speedup).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the same fixed batch for every column: seeded ids in range', () => {
    const a = makeBenchData(TINY);
    const b = makeBenchData(TINY);
    expect(Array.from(a.xs)).toEqual(Array.from(b.xs));
    expect(a.xs.every((x) => x >= 0 && x < TINY.X)).toBe(true);
    expect(a.ts.every((x) => x >= 0 && x < TINY.O)).toBe(true);
  });

  it('the matMul ceiling and the transpose micro-benchmark run', () => {
    const c = matMulCeiling(8, 8, 8, 10, 2);
    expect(c.gflops).toBeGreaterThan(0);
    const m = runMicro([{ label: 'tiny', m: 3, k: 4, n: 5 }], 1);
    expect(Object.keys(m[0]!.ms).sort()).toEqual(['explicitA', 'explicitB', 'plain', 'transposeA', 'transposeB']);
    expect(microCases(['S']).length).toBe(4);
  });
});
