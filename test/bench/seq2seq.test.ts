// The seq2seq benchmark (bench/seq2seq.ts) at a tiny size: the hand-written
// tfjs model and rnnc start from the same weights and compute the same first
// loss, both train, and the result has every figure the table prints. No
// timing is asserted.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { runSeq2seq, seq2seqTable } from '../../bench/seq2seq.js';
import { packageRoot } from '../../src/stdlib.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('seq2seq benchmark', () => {
  it('runs both implementations on the same maths from the same weights', async () => {
    const r = await runSeq2seq(1, 0, () => undefined, { B: 4, S: 5, U: 3, V: 7, K: 5, E: 4, H: 6 }, { threads: 1 });
    expect(Math.abs(r.firstLoss.rnnc - r.firstLoss.hand)).toBeLessThan(1e-5);
    // PyTorch (where python3 has torch): the same model from the same weights, the same first loss.
    expect(r.torch).toBeDefined();
    if (r.torch!.available) {
      expect(Math.abs(r.torch!.firstLoss - r.firstLoss.rnnc)).toBeLessThan(1e-5);
      expect(r.torch!.trainMs).toBeGreaterThan(0);
      expect(seq2seqTable(r, 'cpu')).toMatch(/\| PyTorch [\d.]+\S* \(1 thread\), autograd \| [\d.]+ \| \d+ \| [\d.]+x \|/);
    } else {
      console.log(`seq2seq PyTorch column: skipped, ${r.torch!.note}`);
      expect(seq2seqTable(r, 'cpu')).toContain('PyTorch: left out');
    }
    expect(r.firstLoss.rnnc).toBeGreaterThan(0);
    for (const v of [r.trainMs.rnnc, r.trainMs.hand, r.speedup, r.greedyPerSecond, r.beam4PerSecond]) expect(Number.isFinite(v) && v > 0).toBe(true);
    const table = seq2seqTable(r, 'cpu');
    expect(table).toContain('| rnnc (cpu) |');
    expect(table).not.toContain('loss mismatch');
  });

  it('loads in plain Node as npm run bench runs it (not only under vitest), with the gradients tf.variableGrads needs', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('./dist/bench/seq2seq.js'); const tf = await import('@tensorflow/tfjs-core'); console.log(tf.getGradient('Tanh') !== undefined);"],
      { cwd: packageRoot(), encoding: 'utf8' },
    );
    expect(out.trim()).toBe('true');
  });
});
